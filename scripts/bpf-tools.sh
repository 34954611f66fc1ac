# Sourced by scripts/build-fixtures.sh and scripts/build-agent.sh: the LLVM tools beside the
# BPF compiler. With clang_dir set (the directory of $CLANG), sets
#   strip_cmd  the command that strips DWARF and keeps .BTF/.BTF.ext ($OBJCOPY if set, else
#              llvm-objcopy next to clang or on PATH, else llvm-strip); exits 1 when none is found
#   objdump    llvm-objdump (next to clang or on PATH), or "" when there is none
strip_cmd=()
if [[ -n "${OBJCOPY:-}" ]]; then
	strip_cmd=("$OBJCOPY" --strip-debug)
elif [[ -x "$clang_dir/llvm-objcopy" ]]; then
	strip_cmd=("$clang_dir/llvm-objcopy" --strip-debug)
elif command -v llvm-objcopy >/dev/null 2>&1; then
	strip_cmd=(llvm-objcopy --strip-debug)
elif command -v llvm-strip >/dev/null 2>&1; then
	strip_cmd=(llvm-strip -g)
else
	echo "error: need llvm-objcopy or llvm-strip to strip DWARF (set OBJCOPY)" >&2
	exit 1
fi

objdump=""
if [[ -x "$clang_dir/llvm-objdump" ]]; then
	objdump="$clang_dir/llvm-objdump"
elif command -v llvm-objdump >/dev/null 2>&1; then
	objdump=llvm-objdump
fi
