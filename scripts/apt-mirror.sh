#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt uses for its own release (its first URI serving the release's
# codename), read from /etc/apt/sources.list.d/*.sources (deb822) and /etc/apt/sources.list{,.d/*.list}, so the
# scripts that fetch other suites' packages use the same mirror and no host name is written in the repo.
# Exits 1 with a message when the apt configuration names none.
set -euo pipefail

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
  echo "apt-mirror: /etc/os-release names no VERSION_CODENAME" >&2
  exit 1
fi

from_deb822() {
  # Stanzas are separated by blank lines; a stanza with Types: deb and the codename among its Suites.
  awk -v want="$codename" '
    function flush() {
      if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit }
      types = ""; suites = ""; uris = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]*#/ { next }
    tolower($1) == "types:" { $1 = ""; types = $0 }
    tolower($1) == "suites:" { $1 = ""; suites = $0 }
    tolower($1) == "uris:" { $1 = ""; sub(/^ +/, ""); uris = $0 }
    END { if (!found) flush() }
  ' "$@" 2>/dev/null | head -n 1
}

from_one_line() {
  # deb [options] URI SUITE COMPONENTS...
  sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$@" 2>/dev/null |
    awk -v want="$codename" '$1 == "deb" && $3 == want { print $2; exit }'
}

mirror=""
shopt -s nullglob
sources=(/etc/apt/sources.list.d/*.sources)
lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
existing=()
for file in "${lists[@]}"; do [ -f "$file" ] && existing+=("$file"); done
if [ ${#sources[@]} -gt 0 ]; then mirror=$(from_deb822 "${sources[@]}"); fi
if [ -z "$mirror" ] && [ ${#existing[@]} -gt 0 ]; then mirror=$(from_one_line "${existing[@]}"); fi
if [ -z "$mirror" ]; then
  echo "apt-mirror: no apt source for Debian $codename in /etc/apt/sources.list or /etc/apt/sources.list.d" >&2
  exit 1
fi
echo "${mirror%/}"
