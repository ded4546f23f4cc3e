# `perf script` output -> folded stacks ("comm;outer;...;leaf count"), what stackcollapse-perf.pl
# does: the conversion step of the reference pipeline in scripts/bench.sh.
# Usage: perf script -i perf.data | awk -f perf-fold.awk > out.folded
function flush(   s, i) {
  if (n == 0 && comm == "") return
  s = comm
  for (i = n; i >= 1; i--) s = s ";" f[i]
  count[s]++
  n = 0
  comm = ""
}
/^[^ \t]/ { flush(); comm = $1; next }          # sample header: comm pid time: period event:
/^[ \t]*$/ { flush(); next }                     # end of a sample
{
  line = $0
  sub(/^[ \t]*[0-9a-f]+ /, "", line)             # the address
  dso = ""
  if (match(line, / \([^()]*\)$/)) { dso = substr(line, RSTART + 2, RLENGTH - 3); line = substr(line, 1, RSTART - 1) }
  sub(/\+0x[0-9a-f]+$/, "", line)                # offset in the symbol
  if (line == "[unknown]") { m = dso; sub(/.*\//, "", m); line = "[unknown] " m }
  f[++n] = line
}
END { flush(); for (s in count) print s, count[s] }
