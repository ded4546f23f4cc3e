#pragma once
unsigned long chain_leaf(unsigned long n);
unsigned long chain_lib_inner(unsigned long n);
unsigned long chain_lib_outer(unsigned long n);
