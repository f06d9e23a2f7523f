# shellcheck shell=bash
# Sourced by the instruction-counting benches: the instructions a command runs, counted by
# callgrind (the same count on every run, whatever else the machine is doing).

command -v valgrind > /dev/null || { echo "$0: apt-get install valgrind" >&2; exit 1; }

collected() { # valgrind-log ; prints the instructions callgrind reports in it
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$1"
}

instructions() { # command... ; prints the instructions it ran, or "-" if it failed
  local log
  log=$(mktemp)
  if valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" > /dev/null 2> "$log"; then
    collected "$log"
  else
    echo -
  fi
  rm -f "$log"
}
