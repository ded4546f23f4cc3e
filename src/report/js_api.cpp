// V8 builtins by the JavaScript API they implement, for verdicts: "JSON.parse", not
// "v8::internal::Builtin_JsonParse". Only builtins that are entered from JavaScript calling that API
// are listed (a name left out stays V8's own and is folded into its JavaScript caller).
#include <string>
#include <string_view>
#include <unordered_map>

#include "report_internal.h"

namespace loopperf::report {

namespace {

// V8's builtin name without its prefixes ("v8::internal::Builtin_JsonParse", "Builtins_JsonParse",
// "Builtin:JsonParse" all give "JsonParse"); "" when it is no builtin.
std::string_view builtin_base(std::string_view name) {
  name = name.substr(0, name.find('('));  // C++ builtins come with their parameter list
  if (name.starts_with("v8::internal::")) name.remove_prefix(14);
  for (std::string_view prefix : {"Builtins_", "Builtin_", "Builtin:"})
    if (name.starts_with(prefix)) return name.substr(prefix.size());
  return {};
}

const std::unordered_map<std::string_view, std::string_view>& api_table() {
  static const std::unordered_map<std::string_view, std::string_view> table = {
      {"JsonParse", "JSON.parse"},
      {"JsonStringify", "JSON.stringify"},
      {"RegExpPrototypeExec", "RegExp.prototype.exec"},
      {"RegExpPrototypeTest", "RegExp.prototype.test"},
      {"RegExpPrototypeTestFast", "RegExp.prototype.test"},
      {"RegExpPrototypeReplace", "RegExp.prototype[Symbol.replace]"},
      {"RegExpPrototypeSplit", "RegExp.prototype[Symbol.split]"},
      {"RegExpPrototypeMatch", "RegExp.prototype[Symbol.match]"},
      {"RegExpPrototypeMatchAll", "RegExp.prototype[Symbol.matchAll]"},
      {"RegExpPrototypeSearch", "RegExp.prototype[Symbol.search]"},
      {"RegExpConstructor", "RegExp"},
      {"StringPrototypeReplace", "String.prototype.replace"},
      {"StringPrototypeReplaceAll", "String.prototype.replaceAll"},
      {"StringPrototypeSplit", "String.prototype.split"},
      {"StringPrototypeMatch", "String.prototype.match"},
      {"StringPrototypeMatchAll", "String.prototype.matchAll"},
      {"StringPrototypeSearch", "String.prototype.search"},
      {"StringPrototypeIndexOf", "String.prototype.indexOf"},
      {"StringPrototypeLastIndexOf", "String.prototype.lastIndexOf"},
      {"StringPrototypeIncludes", "String.prototype.includes"},
      {"StringPrototypeStartsWith", "String.prototype.startsWith"},
      {"StringPrototypeEndsWith", "String.prototype.endsWith"},
      {"StringPrototypeSlice", "String.prototype.slice"},
      {"StringPrototypeSubstring", "String.prototype.substring"},
      {"StringPrototypeSubstr", "String.prototype.substr"},
      {"StringPrototypeTrim", "String.prototype.trim"},
      {"StringPrototypeTrimStart", "String.prototype.trimStart"},
      {"StringPrototypeTrimEnd", "String.prototype.trimEnd"},
      {"StringPrototypeRepeat", "String.prototype.repeat"},
      {"StringPrototypePadStart", "String.prototype.padStart"},
      {"StringPrototypePadEnd", "String.prototype.padEnd"},
      {"StringPrototypeConcat", "String.prototype.concat"},
      {"StringPrototypeCharCodeAt", "String.prototype.charCodeAt"},
      {"StringPrototypeCodePointAt", "String.prototype.codePointAt"},
      {"StringPrototypeToLowerCase", "String.prototype.toLowerCase"},
      {"StringPrototypeToLowerCaseIntl", "String.prototype.toLowerCase"},
      {"StringPrototypeToUpperCase", "String.prototype.toUpperCase"},
      {"StringPrototypeToUpperCaseIntl", "String.prototype.toUpperCase"},
      {"StringPrototypeNormalizeIntl", "String.prototype.normalize"},
      {"StringPrototypeLocaleCompare", "String.prototype.localeCompare"},
      {"StringFromCharCode", "String.fromCharCode"},
      {"StringFromCodePoint", "String.fromCodePoint"},
      {"ArrayPrototypeSort", "Array.prototype.sort"},
      {"ArrayPrototypeJoin", "Array.prototype.join"},
      {"ArrayPrototypeToString", "Array.prototype.toString"},
      {"ArrayPrototypeSlice", "Array.prototype.slice"},
      {"ArrayPrototypeSplice", "Array.prototype.splice"},
      {"ArrayPrototypeConcat", "Array.prototype.concat"},
      {"ArrayPrototypeReverse", "Array.prototype.reverse"},
      {"ArrayPrototypeFill", "Array.prototype.fill"},
      {"ArrayPrototypeFlat", "Array.prototype.flat"},
      {"ArrayPrototypeFlatMap", "Array.prototype.flatMap"},
      {"ArrayPrototypePush", "Array.prototype.push"},
      {"ArrayPrototypePop", "Array.prototype.pop"},
      {"ArrayPrototypeShift", "Array.prototype.shift"},
      {"ArrayPrototypeUnshift", "Array.prototype.unshift"},
      {"ArrayPrototypeLastIndexOf", "Array.prototype.lastIndexOf"},
      {"ArrayPrototypeFind", "Array.prototype.find"},
      {"ArrayPrototypeFindIndex", "Array.prototype.findIndex"},
      {"ArrayIndexOf", "Array.prototype.indexOf"},
      {"ArrayIncludes", "Array.prototype.includes"},
      {"ArrayForEach", "Array.prototype.forEach"},
      {"ArrayMap", "Array.prototype.map"},
      {"ArrayFilter", "Array.prototype.filter"},
      {"ArrayReduce", "Array.prototype.reduce"},
      {"ArrayReduceRight", "Array.prototype.reduceRight"},
      {"ArraySome", "Array.prototype.some"},
      {"ArrayEvery", "Array.prototype.every"},
      {"ArrayFrom", "Array.from"},
      {"ArrayIsArray", "Array.isArray"},
      {"ObjectKeys", "Object.keys"},
      {"ObjectValues", "Object.values"},
      {"ObjectEntries", "Object.entries"},
      {"ObjectAssign", "Object.assign"},
      {"ObjectFreeze", "Object.freeze"},
      {"ObjectCreate", "Object.create"},
      {"ObjectFromEntries", "Object.fromEntries"},
      {"ObjectDefineProperty", "Object.defineProperty"},
      {"ObjectDefineProperties", "Object.defineProperties"},
      {"ObjectGetOwnPropertyNames", "Object.getOwnPropertyNames"},
      {"ObjectPrototypeHasOwnProperty", "Object.prototype.hasOwnProperty"},
      {"ObjectPrototypeToString", "Object.prototype.toString"},
      {"MathRandom", "Math.random"},
      {"NumberParseFloat", "Number.parseFloat"},
      {"NumberParseInt", "Number.parseInt"},
      {"NumberPrototypeToString", "Number.prototype.toString"},
      {"NumberPrototypeToFixed", "Number.prototype.toFixed"},
      {"GlobalDecodeURIComponent", "decodeURIComponent"},
      {"GlobalEncodeURIComponent", "encodeURIComponent"},
      {"GlobalDecodeURI", "decodeURI"},
      {"GlobalEncodeURI", "encodeURI"},
      {"GlobalEscape", "escape"},
      {"GlobalUnescape", "unescape"},
      {"TypedArrayPrototypeSet", "TypedArray.prototype.set"},
      {"TypedArrayPrototypeFill", "TypedArray.prototype.fill"},
      {"TypedArrayPrototypeSlice", "TypedArray.prototype.slice"},
      {"TypedArrayPrototypeSubArray", "TypedArray.prototype.subarray"},
      {"TypedArrayPrototypeSort", "TypedArray.prototype.sort"},
      {"TypedArrayFrom", "TypedArray.from"},
      {"MapPrototypeGet", "Map.prototype.get"},
      {"MapPrototypeSet", "Map.prototype.set"},
      {"MapPrototypeHas", "Map.prototype.has"},
      {"MapPrototypeDelete", "Map.prototype.delete"},
      {"SetPrototypeAdd", "Set.prototype.add"},
      {"SetPrototypeHas", "Set.prototype.has"},
      {"SetPrototypeDelete", "Set.prototype.delete"},
      {"FunctionPrototypeApply", "Function.prototype.apply"},
      {"FunctionPrototypeCall", "Function.prototype.call"},
      {"FunctionPrototypeBind", "Function.prototype.bind"},
      {"ReflectApply", "Reflect.apply"},
      {"ReflectConstruct", "Reflect.construct"},
      {"DateNow", "Date.now"},
      {"DatePrototypeToISOString", "Date.prototype.toISOString"},
      {"PromisePrototypeThen", "Promise.prototype.then"},
      {"PromiseAll", "Promise.all"},
  };
  return table;
}

}  // namespace

std::string_view js_api_of(std::string_view name) {
  std::string_view base = builtin_base(name);
  if (base.empty()) return {};
  auto it = api_table().find(base);
  return it == api_table().end() ? std::string_view() : it->second;
}

bool is_openssl(std::string_view name, std::string_view mapping_file) {
  std::string_view base = mapping_file.substr(mapping_file.rfind('/') + 1);
  if (base.starts_with("libcrypto.so") || base.starts_with("libssl.so")) return true;
  // OpenSSL linked into node: its function prefixes (public API, internal, and the assembly's).
  static constexpr std::string_view kPrefixes[] = {
      "OPENSSL_", "CRYPTO_", "EVP_",  "evp_",  "ossl_",  "BN_",    "bn_",    "RSA_",   "rsa_",   "EC_",
      "ec_",      "ecp_",    "SHA1",  "SHA224", "SHA256", "SHA384", "SHA512", "sha1_",  "sha256_", "sha512_",
      "aesni_",   "AES_",    "HMAC_", "PKCS5_", "ERR_",   "X509",   "x509_",  "SSL_",   "ssl3_",  "tls1_",
      "BIO_",     "ASN1_",   "asn1_", "PEM_",   "OBJ_",   "kdf_",   "RAND_",  "rsaz_",  "gcm_",   "ChaCha20_",
      "Poly1305_", "x25519_", "MD5_", "md5_",   "KECCAK", "SHA3_",  "CMAC_",  "DH_",    "DSA_",   "ECDSA_"};
  for (auto p : kPrefixes)
    if (name.starts_with(p)) return true;
  return false;
}

}  // namespace loopperf::report
