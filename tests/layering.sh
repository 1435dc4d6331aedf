#!/usr/bin/env bash
# layering.sh: the Layering test (ctest). Reads which folder may include which
# from the ```layering block of ARCHITECTURE.md and checks every #include of
# ours (a path under a folder that block names) in the .h/.cc/.cu/.cuh files
# of those folders. It fails, naming file:line and the rule, when
#   (a) a file includes a file of a folder its folder may not include,
#   (b) an included file does not exist, or a file of ours is included by a
#       relative path instead of its path from the repository root,
#   (c) files include each other, directly or round a longer cycle, or so do
#       components (x.h with x.cc and x-inl.h is one component: x.cc including
#       y.h while y.cc includes x.h is a cycle);
# and when a folder holding sources has no rule, a rule names an unknown
# folder, or the rules themselves allow a cycle between folders.
#
# Usage: tests/layering.sh [REPO_ROOT]
# Needs bash, find, grep, sort and awk (mawk or gawk).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
components=1
for arg in "$@"; do
  case $arg in
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) root=$arg ;;
  esac
done
cd "$root"
if [[ ! -f ARCHITECTURE.md ]]; then
  echo "layering: no ARCHITECTURE.md in $PWD" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The rules, with their line numbers in ARCHITECTURE.md: "LINE<TAB>folder: allowed folders".
awk '/^```layering[[:space:]]*$/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print NR "\t" $0 }' ARCHITECTURE.md >"$work/rules"
if [[ ! -s $work/rules ]]; then
  echo "layering: ARCHITECTURE.md has no \`\`\`layering block" >&2
  exit 2
fi

# Every file under the top folders the rules name (node_modules and dot folders left out).
tops=$(cut -f2 "$work/rules" | sed -n 's/^[[:space:]]*\([^#/:[:space:]][^/:[:space:]]*\).*:.*/\1/p' | sort -u)
for top in $tops; do
  if [[ -d $top ]]; then find "$top" \( -name node_modules -o -name '.?*' \) -prune -o -type f -print; fi
done | sort >"$work/files"

# Every #include line of their sources: "path:line:text".
{ grep -E '\.(h|cc|cu|cuh|hpp|cpp|c|inc)$' "$work/files" || true; } | while IFS= read -r f; do
  grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' -- "$f" || true
done >"$work/includes"

awk -v components="$components" -v rules_file="$work/rules" -v files_file="$work/files" '
function fail(message) { errors[++n_errors] = message }
function top_of(p) { return substr(p, 1, index(p "/", "/") - 1) }
# A file'\''s folder: core/X for a file under core/X/ (any top folder that rules name by subfolder), else its top folder.
function folder_of(p,   parts, n) {
  n = split(p, parts, "/")
  if (parts[1] in nested && n >= 3) return parts[1] "/" parts[2]
  return parts[1]
}
function dir_of(p) { sub(/\/[^\/]*$/, "", p); return p }
function component_of(p) { sub(/\.[^.\/]*$/, "", p); sub(/-inl$/, "", p); return p }
function is_source(p) { return p ~ /\.(h|cc|cu|cuh|hpp|cpp|c|inc)$/ }

# The graph whose cycles find_cycles() reports: nodes in first-seen order, edges with a witness each.
function add_edge(u, v, witness) {
  if (u == v || (u, v) in edge) return
  edge[u, v] = witness
  if (!(u in out)) { out[u] = 0; node[++n_nodes] = u }
  if (!(v in out)) { out[v] = 0; node[++n_nodes] = v }
  next_of[u, ++out[u]] = v
}
function find_cycles(kind,   i) {
  for (i = 1; i <= n_nodes; i++) if (!(node[i] in state)) visit(kind, node[i])
  delete edge; delete out; delete node; delete next_of; delete state; n_nodes = 0
}
function visit(kind, u,   i, v, k, w, message) {
  state[u] = 1
  path[++depth] = u
  for (i = 1; i <= out[u]; i++) {
    v = next_of[u, i]
    if ((v in state) && state[v] == 1) {  # back to a node on the path: a cycle
      for (k = depth; path[k] != v; k--) {}
      message = kind ":"
      for (; k <= depth; k++) {
        w = k < depth ? path[k + 1] : v
        message = message " " edge[path[k], w] (k < depth ? ";" : "")
      }
      fail(message)
    } else if (!(v in state)) {
      visit(kind, v)
    }
  }
  depth--
  state[u] = 2
}

BEGIN {
  while ((getline line < rules_file) > 0) {
    tab = index(line, "\t"); at = "ARCHITECTURE.md:" substr(line, 1, tab - 1); text = substr(line, tab + 1)
    sub(/#.*/, "", text)
    if (text ~ /^[[:space:]]*$/) continue
    if (text !~ /^[[:space:]]*[^:[:space:]]+:/) { fail(at ": not a rule (\"folder: allowed folders\"): " text); continue }
    colon = index(text, ":")
    f = substr(text, 1, colon - 1); gsub(/[[:space:]]/, "", f)
    if (f in rule) { fail(at ": a second rule for " f); continue }
    rule[f] = substr(text, colon + 1); gsub(/^[[:space:]]+|[[:space:]]+$/, "", rule[f]); gsub(/[[:space:]]+/, " ", rule[f])
    rule_at[f] = at; top[top_of(f)] = 1
    if (index(f, "/")) nested[top_of(f)] = 1
    n = split(rule[f], allowed_list, " ")
    for (i = 1; i <= n; i++) {
      if (allowed_list[i] == "*") any[f] = 1
      else { allowed[f, allowed_list[i]] = 1; named[f, allowed_list[i]] = 1 }
    }
  }
  for (key in named) {  # each named folder has a rule of its own; the rules form no cycle
    split(key, pair, SUBSEP)
    if (!(pair[2] in rule)) fail(rule_at[pair[1]] ": " pair[1] " may include " pair[2] ", a folder with no rule")
    else if (pair[1] != pair[2]) add_edge(pair[1], pair[2], rule_at[pair[1]] " (" pair[1] ": " rule[pair[1]] ")")
  }
  find_cycles("the rules allow a folder cycle")

  while ((getline p < files_file) > 0) {
    exists[p] = 1
    if (is_source(p) && !(folder_of(p) in rule) && !(folder_of(p) in unruled)) {
      unruled[folder_of(p)] = 1
      fail(p ": its folder " folder_of(p) " has no rule in ARCHITECTURE.md'\''s layering block")
    }
  }
}

{
  # "path:line:text" (our paths hold no colon)
  first = index($0, ":"); src = substr($0, 1, first - 1); rest = substr($0, first + 1)
  second = index(rest, ":"); at = src ":" substr(rest, 1, second - 1); text = substr(rest, second + 1)
  if (!match(text, /["<][^">]+[">]/)) next
  target = substr(text, RSTART + 1, RLENGTH - 2); quoted = substr(text, RSTART, 1) == "\""
  if (quoted && (target ~ /^\.\.?\// || (index(target, "/") == 0 && (dir_of(src) "/" target) in exists))) {
    fail(at ": includes \"" target "\" by a relative path; name it from the repository root")
    next
  }
  if (!(top_of(target) in top) || index(target, "/") == 0) next  # not ours: hwy/…, <vector>
  ++checked
  if (!(target in exists)) { fail(at ": includes " target ", which does not exist"); next }
  from = folder_of(src); to = folder_of(target)
  if (from != to && (from in rule) && !(from in any) && !((from, to) in allowed)) {
    fail(at ": includes " target ": " from " may not include " to " (" rule_at[from] ": \"" from ": " (rule[from] == "" ? "nothing" : rule[from]) "\")")
  }
  add_edge(src, target, at " includes " target)
  if (components) comp_edge[++n_component_edges] = component_of(src) SUBSEP component_of(target) SUBSEP at " includes " target
}

END {
  find_cycles("include cycle")
  if (components) {
    for (i = 1; i <= n_component_edges; i++) {
      split(comp_edge[i], c, SUBSEP)
      add_edge(c[1], c[2], c[3])
    }
    find_cycles("component cycle")
  }
  for (i = 1; i <= n_errors; i++) print errors[i] > "/dev/stderr"
  if (n_errors > 0) {
    printf "layering: %d problem(s); ARCHITECTURE.md says which folder may include which\n", n_errors > "/dev/stderr"
    exit 1
  }
  n_rules = 0
  for (f in rule) n_rules++
  printf "layering: %d includes of ours checked against %d folder rules: no crossing, no missing file, no %scycle\n",
         checked, n_rules, components ? "file or component " : ""
}' "$work/includes"
