// A small x86-64 instruction length decoder for the call-site tests: enough of the ISA to sweep a
// compiler-generated function (general-purpose, SSE, x87; no VEX/EVEX) from its first byte to its
// last and to find every call instruction, direct (e8 rel32) and indirect (ff /2), at a real
// instruction boundary. Unknown encodings make the sweep fail instead of guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace x86 {

struct Insn {
  uint64_t offset = 0;  // from the start of the swept code
  uint32_t length = 0;
  uint8_t opcode = 0;   // primary opcode byte (after prefixes/REX; 0x0f for two-byte maps)
  uint8_t opcode2 = 0;  // second opcode byte for 0x0f-map instructions
  int modrm_reg = -1;   // reg field of ModRM, -1 when no ModRM
  bool direct_call = false;    // e8 rel32
  bool indirect_call = false;  // ff /2
  std::optional<int64_t> branch_target;  // offset of a rel8/rel32 jump/call target
};

struct Sweep {
  std::vector<Insn> insns;
  std::string error;  // empty when the whole range decoded
};

namespace detail {

// Length of ModRM + SIB + displacement starting at b[i] (the ModRM byte); 0 on overrun.
inline size_t modrm_len(const std::vector<uint8_t>& b, size_t i, bool addr32) {
  (void)addr32;
  if (i >= b.size()) return 0;
  uint8_t modrm = b[i];
  uint8_t mod = modrm >> 6, rm = modrm & 7;
  size_t len = 1;
  if (mod == 3) return len;
  if (rm == 4) {
    if (i + 1 >= b.size()) return 0;
    uint8_t sib = b[i + 1];
    len++;
    if (mod == 0 && (sib & 7) == 5) len += 4;
  } else if (mod == 0 && rm == 5) {
    len += 4;  // rip-relative
  }
  if (mod == 1) len += 1;
  if (mod == 2) len += 4;
  return len;
}

}  // namespace detail

// Decodes one instruction at b[i]; nullopt when the encoding is not covered.
inline std::optional<Insn> decode(const std::vector<uint8_t>& b, size_t i) {
  Insn in;
  in.offset = i;
  size_t p = i;
  bool opsize16 = false, addr32 = false, rex_w = false;
  // Legacy prefixes.
  for (;;) {
    if (p >= b.size()) return std::nullopt;
    uint8_t c = b[p];
    if (c == 0x66) opsize16 = true;
    else if (c == 0x67) addr32 = true;
    else if (c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 ||
             c == 0x64 || c == 0x65) {
    } else break;
    p++;
  }
  if (b[p] >= 0x40 && b[p] <= 0x4f) {
    rex_w = (b[p] & 8) != 0;
    p++;
    if (p >= b.size()) return std::nullopt;
  }
  const size_t imm_z = opsize16 ? 2 : 4;
  uint8_t op = b[p++];
  in.opcode = op;
  bool has_modrm = false;
  size_t imm = 0;
  int rel = 0;  // 1 or 4 when the immediate is a branch displacement

  if (op == 0x0f) {
    if (p >= b.size()) return std::nullopt;
    uint8_t op2 = b[p++];
    in.opcode2 = op2;
    if (op2 == 0x38) {
      p++;  // three-byte map: always ModRM, no immediate
      has_modrm = true;
    } else if (op2 == 0x3a) {
      p++;
      has_modrm = true;
      imm = 1;
    } else if (op2 == 0x05 || op2 == 0x06 || op2 == 0x07 || op2 == 0x08 || op2 == 0x09 || op2 == 0x0b ||
               op2 == 0x30 || op2 == 0x31 || op2 == 0x32 || op2 == 0x33 || op2 == 0x34 || op2 == 0x35 ||
               op2 == 0x77 || op2 == 0xa0 || op2 == 0xa1 || op2 == 0xa2 || op2 == 0xa8 || op2 == 0xa9 ||
               (op2 >= 0xc8 && op2 <= 0xcf)) {
      // no operands
    } else if (op2 >= 0x80 && op2 <= 0x8f) {
      imm = 4;
      rel = 4;
    } else if ((op2 >= 0x70 && op2 <= 0x73) || op2 == 0xa4 || op2 == 0xac || op2 == 0xba || op2 == 0xc2 ||
               (op2 >= 0xc4 && op2 <= 0xc6)) {
      has_modrm = true;
      imm = 1;
    } else if (op2 == 0x00 || op2 == 0x01 || op2 == 0x0d || (op2 >= 0x10 && op2 <= 0x1f) ||
               (op2 >= 0x28 && op2 <= 0x2f) || (op2 >= 0x40 && op2 <= 0x6f) || (op2 >= 0x74 && op2 <= 0x76) ||
               (op2 >= 0x7c && op2 <= 0x7f) || (op2 >= 0x90 && op2 <= 0x9f) || op2 == 0xa3 || op2 == 0xa5 ||
               op2 == 0xab || op2 == 0xad || op2 == 0xae || op2 == 0xaf || (op2 >= 0xb0 && op2 <= 0xb9) ||
               (op2 >= 0xbb && op2 <= 0xbf) || op2 == 0xc0 || op2 == 0xc1 || op2 == 0xc3 || op2 == 0xc7 ||
               op2 >= 0xd0) {
      has_modrm = true;
    } else {
      return std::nullopt;
    }
  } else {
    auto alu = [](uint8_t o) { return o < 0x40 && (o & 7) < 6; };
    if (alu(op)) {
      uint8_t lo = op & 7;
      if (lo < 4) has_modrm = true;
      else imm = lo == 4 ? 1 : imm_z;
    } else if (op < 0x40) {
      return std::nullopt;  // prefixes handled above; the rest is invalid in 64-bit mode
    } else if (op >= 0x50 && op <= 0x5f) {
    } else if (op == 0x63) {
      has_modrm = true;
    } else if (op == 0x68) {
      imm = imm_z;
    } else if (op == 0x69) {
      has_modrm = true;
      imm = imm_z;
    } else if (op == 0x6a) {
      imm = 1;
    } else if (op == 0x6b) {
      has_modrm = true;
      imm = 1;
    } else if (op >= 0x6c && op <= 0x6f) {
    } else if (op >= 0x70 && op <= 0x7f) {
      imm = 1;
      rel = 1;
    } else if (op == 0x80 || op == 0x83) {
      has_modrm = true;
      imm = 1;
    } else if (op == 0x81) {
      has_modrm = true;
      imm = imm_z;
    } else if (op >= 0x84 && op <= 0x8f) {
      has_modrm = true;
    } else if (op >= 0x90 && op <= 0x99) {
    } else if (op >= 0x9b && op <= 0x9f) {
    } else if (op >= 0xa0 && op <= 0xa3) {
      imm = addr32 ? 4 : 8;
    } else if ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf)) {
    } else if (op == 0xa8) {
      imm = 1;
    } else if (op == 0xa9) {
      imm = imm_z;
    } else if (op >= 0xb0 && op <= 0xb7) {
      imm = 1;
    } else if (op >= 0xb8 && op <= 0xbf) {
      imm = rex_w ? 8 : imm_z;
    } else if (op == 0xc0 || op == 0xc1 || op == 0xc6) {
      has_modrm = true;
      imm = 1;
    } else if (op == 0xc7) {
      has_modrm = true;
      imm = imm_z;
    } else if (op == 0xc2 || op == 0xca) {
      imm = 2;
    } else if (op == 0xc3 || op == 0xc9 || op == 0xcb || op == 0xcc || op == 0xcf) {
    } else if (op == 0xc8) {
      imm = 3;
    } else if (op == 0xcd) {
      imm = 1;
    } else if ((op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf)) {
      has_modrm = true;
    } else if (op == 0xd7) {
    } else if (op >= 0xe0 && op <= 0xe3) {
      imm = 1;
      rel = 1;
    } else if (op >= 0xe4 && op <= 0xe7) {
      imm = 1;
    } else if (op == 0xe8 || op == 0xe9) {
      imm = 4;
      rel = 4;
      in.direct_call = op == 0xe8;
    } else if (op == 0xeb) {
      imm = 1;
      rel = 1;
    } else if ((op >= 0xec && op <= 0xef) || op == 0xf1 || op == 0xf4 || op == 0xf5 || (op >= 0xf8 && op <= 0xfd)) {
    } else if (op == 0xf6 || op == 0xf7) {
      has_modrm = true;
      if (p >= b.size()) return std::nullopt;
      int reg = (b[p] >> 3) & 7;
      if (reg == 0 || reg == 1) imm = op == 0xf6 ? 1 : imm_z;
    } else if (op == 0xfe || op == 0xff) {
      has_modrm = true;
    } else {
      return std::nullopt;  // VEX/EVEX and the rest
    }
  }
  if (has_modrm) {
    if (p >= b.size()) return std::nullopt;
    in.modrm_reg = (b[p] >> 3) & 7;
    size_t m = detail::modrm_len(b, p, addr32);
    if (!m) return std::nullopt;
    p += m;
    if (op == 0xff && in.modrm_reg == 2) in.indirect_call = true;
  }
  size_t imm_at = p;
  p += imm;
  if (p > b.size()) return std::nullopt;
  in.length = static_cast<uint32_t>(p - i);
  if (rel) {
    int64_t d = 0;
    if (rel == 1) d = static_cast<int8_t>(b[imm_at]);
    else d = static_cast<int32_t>(b[imm_at] | (b[imm_at + 1] << 8) | (b[imm_at + 2] << 16) |
                                  (static_cast<uint32_t>(b[imm_at + 3]) << 24));
    in.branch_target = static_cast<int64_t>(p) + d;
  }
  return in;
}

// Linear sweep over the whole range; stops at the first undecodable byte.
inline Sweep sweep(const std::vector<uint8_t>& b) {
  Sweep s;
  size_t i = 0;
  while (i < b.size()) {
    auto in = decode(b, i);
    if (!in) {
      char buf[96];
      snprintf(buf, sizeof buf, "cannot decode the instruction at +0x%zx (byte 0x%02x)", i, b[i]);
      s.error = buf;
      return s;
    }
    s.insns.push_back(*in);
    i += in->length;
  }
  return s;
}

}  // namespace x86
