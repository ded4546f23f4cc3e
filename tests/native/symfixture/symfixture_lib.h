#pragma once

#ifdef __cplusplus
extern "C" {
#endif

int symfix_lib_function(int x);
typedef int (*symfix_fn)(int);
/* The address of symfix_lib_function as the library sees it (not a PLT entry of the caller). */
symfix_fn symfix_lib_address(void);

#ifdef __cplusplus
}
#endif
