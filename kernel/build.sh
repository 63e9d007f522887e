#!/bin/bash
# Build a Linux 6.12 bzImage with the pidfd_mem series for QEMU.
#
#   kernel/build.sh [--debug] [--arch arm64] [--key] [--headers]
#
# Prints the bzImage (arm64: Image) path on stdout (build chatter goes to stderr and to a
# log). Installs nothing: when a package is missing it prints the apt-get
# command and exits 2. Results live outside the repo, in
# ${PIDSCOPE_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pidscope/kernel},
# keyed by a hash of the patches, the config fragments, this script and the
# source tarball; an unchanged key prints the cached path at once. The build
# source tree ($cache/src) and the object dirs ($cache/build-<variant>) are
# kept and updated in place (old patches reversed, new ones applied), so a
# changed patch rebuilds only what it touches.
#
#   --debug    add config/debug.config (KASAN, PROVE_LOCKING, DEBUG_VM, ...)
#   (always)   config/<arch>.config last: x86_64.config (ACPI, for SMP) or arm64.config
#   --key      print the cache key and exit
#   --headers  print the installed uapi header dir instead of the bzImage
#   --arch arm64  cross-build for QEMU's arm64 `virt` machine with Debian's
#              gcc-aarch64-linux-gnu: + config/arm64.config, variants
#              arm64-normal/arm64-debug (own object dirs and outputs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
variant=normal
print=image
arch=x86_64
while [ $# -gt 0 ]; do
	arg=$1
	shift
	case "$arg" in
	--debug) variant=debug ;;
	--key) print=key ;;
	--headers) print=headers ;;
	--arch) arch=${1:-}; shift || true ;;
	--arch=*) arch=${arg#--arch=} ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
	esac
done
case "$arch" in
x86_64|x86) arch=x86_64; image_name=bzImage; image_src=arch/x86/boot/bzImage ;;
arm64|aarch64)
	# cross build: make reads ARCH and CROSS_COMPILE from the environment
	arch=arm64; image_name=Image; image_src=arch/arm64/boot/Image
	variant=arm64-$variant
	export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- ;;
*) echo "build.sh: unknown --arch '$arch' (x86_64 or arm64)" >&2; exit 2 ;;
esac

tarball=${PIDSCOPE_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
cache=${PIDSCOPE_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pidscope/kernel}
jobs=${PIDSCOPE_KERNEL_JOBS:-$(nproc)}

# --- packages ---------------------------------------------------------------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_file() { [ -e "$1" ] || missing+=("$2"); }
need_cmd gcc gcc
need_cmd make make
need_cmd flex flex
need_cmd bison bison
need_cmd bc bc
need_cmd cpio cpio
need_cmd patch patch
need_cmd xz xz-utils
need_cmd perl perl
need_file /usr/include/libelf.h libelf-dev
need_file /usr/include/openssl/ssl.h libssl-dev
need_file "$tarball" linux-source-6.12
[ "$arch" = arm64 ] && need_cmd aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
if [ ${#missing[@]} -gt 0 ]; then
	echo "build.sh: missing packages: ${missing[*]}" >&2
	echo "build.sh: install them with:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 2
fi

# --- cache key ---------------------------------------------------------------
fragments=("$here/config/base.config")
case "$variant" in *debug) fragments+=("$here/config/debug.config") ;; esac
fragments+=("$here/config/$arch.config")
patches=()
while IFS= read -r p; do patches+=("$p"); done < <(ls "$here"/patches/0*.patch 2>/dev/null | grep -v /0000-cover-letter.patch | sort)
[ ${#patches[@]} -gt 0 ] || { echo "build.sh: no patches in $here/patches" >&2; exit 2; }
key=$( {
	echo "$variant"
	stat -c '%s %Y' "$tarball"
	cat "${patches[@]}" "${fragments[@]}" "$0"
} | sha256sum | cut -c1-16)
if [ "$print" = key ]; then echo "$key"; exit 0; fi

out="$cache/out/$variant-$key"
emit() {
	if [ "$print" = headers ]; then echo "$out/usr/include"; else echo "$out/$image_name"; fi
}
if [ -f "$out/$image_name" ] && [ -f "$out/done" ]; then
	emit
	exit 0
fi

mkdir -p "$cache/build" "$cache/out"
exec 9>"$cache/build/$variant.lock"
flock 9
if [ -f "$out/$image_name" ] && [ -f "$out/done" ]; then emit; exit 0; fi

# One source tree for both variants (same patches), one object dir each.
tree="$cache/src"
obj="$cache/build-$variant"
log="$cache/build/$variant.log"
exec 8>"$cache/build/src.lock"
flock 8
: >"$log"
say() { echo "build.sh[$variant]: $*" >&2; echo "== $*" >>"$log"; }

# --- source tree: reuse when the tarball is the same, swap patches ----------
stamp=$(stat -c '%s %Y' "$tarball")
same_series() {
	local applied=("$tree"/.pidscope-applied/*.patch)
	[ ${#applied[@]} = ${#patches[@]} ] || return 1
	local i
	for i in "${!patches[@]}"; do
		cmp -s "${patches[$i]}" "${applied[$i]}" || return 1
	done
}
fresh=1
if [ -f "$tree/.pidscope-tarball" ] && [ "$(cat "$tree/.pidscope-tarball")" = "$stamp" ]; then
	fresh=0
	if [ -d "$tree/.pidscope-applied" ] && same_series; then
		say "source tree already carries this series"
		fresh=keep
	elif [ -d "$tree/.pidscope-applied" ]; then
		# Switch series by content: rebuild the touched files in a scratch
		# dir (old series reversed, new one applied) and copy over only
		# files whose bytes change, so make recompiles just what differs
		# (series alternating between checkouts do not rebuild the kernel).
		scratch=$(mktemp -d "$cache/build/switch.XXXXXX")
		files=$(cat "$tree"/.pidscope-applied/*.patch "${patches[@]}" |
			sed -n 's#^+++ b/##p; s#^--- a/##p' | sort -u)
		for f in $files; do
			if [ -e "$tree/$f" ]; then
				mkdir -p "$scratch/$(dirname "$f")"
				cp -p "$tree/$f" "$scratch/$f"
			fi
		done
		ok=1
		for p in $(ls "$tree/.pidscope-applied"/*.patch | sort -r); do
			(cd "$scratch" && patch -p1 -R -s --no-backup-if-mismatch <"$p" >>"$log" 2>&1) || { ok=0; break; }
		done
		if [ "$ok" = 1 ]; then
			for p in "${patches[@]}"; do
				(cd "$scratch" && patch -p1 -s --forward --no-backup-if-mismatch <"$p" >>"$log" 2>&1) || { ok=0; break; }
			done
		fi
		if [ "$ok" = 1 ]; then
			changed=0
			for f in $files; do
				if [ -e "$scratch/$f" ]; then
					if ! cmp -s "$scratch/$f" "$tree/$f"; then
						mkdir -p "$tree/$(dirname "$f")"
						cp "$scratch/$f" "$tree/$f"
						changed=$((changed + 1))
					fi
				elif [ -e "$tree/$f" ]; then
					rm -f "$tree/$f"
					changed=$((changed + 1))
				fi
			done
			rm -rf "$tree/.pidscope-applied"
			mkdir -p "$tree/.pidscope-applied"
			cp "${patches[@]}" "$tree/.pidscope-applied/"
			say "switched series: $changed file(s) changed"
			fresh=keep
		else
			say "could not switch series in place: starting from a fresh tree"
			fresh=1
		fi
		rm -rf "$scratch"
	fi
fi
if [ "$fresh" = 1 ]; then
	say "extracting $tarball"
	rm -rf "$tree" "$cache/build-normal" "$cache/build-debug" "$cache"/build-arm64-*
	mkdir -p "$tree"
	tar -xf "$tarball" -C "$tree" --strip-components=1
	echo "$stamp" >"$tree/.pidscope-tarball"
fi
if [ "$fresh" != keep ]; then
	rm -rf "$tree/.pidscope-applied"
	mkdir -p "$tree/.pidscope-applied"
	for p in "${patches[@]}"; do
		say "applying $(basename "$p")"
		if ! (cd "$tree" && patch -p1 -s --forward --no-backup-if-mismatch <"$p" >>"$log" 2>&1); then
			echo "build.sh: $(basename "$p") does not apply to $tarball (see $log)" >&2
			rm -f "$tree/.pidscope-tarball"
			exit 1
		fi
		cp "$p" "$tree/.pidscope-applied/"
	done
fi
mkdir -p "$obj"

# --- config ------------------------------------------------------------------
say "configuring: tinyconfig + ${fragments[*]##*/}"
(
	cd "$tree"
	make -s O="$obj" tinyconfig >>"$log" 2>&1
	scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "${fragments[@]}" >>"$log" 2>&1
	make -s O="$obj" olddefconfig >>"$log" 2>&1
)
# A symbol declared only in another architecture's Kconfig (base.config is written for
# x86_64) cannot stick on arm64 and is skipped; anything else that did not stick is an error.
foreign() {
	local decl
	decl=$(grep -rlE "^[[:space:]]*(menu)?config $1\$" --include='Kconfig*' "$tree" | sed "s#^$tree/##")
	[ -n "$decl" ] && ! grep -qv '^arch/' <<<"$decl" && ! grep -q "^arch/$arch/" <<<"$decl"
}
bad=0
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n)
			! grep -q "^${line%=n}=" "$obj/.config" || { say "config: $line did not stick"; bad=1; } ;;
		CONFIG_*=*)
			grep -qx "$line" "$obj/.config" && continue
			sym=${line#CONFIG_}
			sym=${sym%%=*}
			if [ "$arch" != x86_64 ] && foreign "$sym"; then
				say "config: $line is for another architecture, skipped"
			else
				say "config: $line did not stick"; bad=1
			fi ;;
		esac
	done <"$f"
done
[ "$bad" = 0 ] || { echo "build.sh: configuration incomplete (see $log)" >&2; exit 1; }

# --- build ------------------------------------------------------------------
say "building $image_name with -j$jobs (log: $log)"
start=$(date +%s)
if ! (cd "$tree" && make O="$obj" -j"$jobs" "$image_name" >>"$log" 2>&1); then
	tail -40 "$log" >&2
	echo "build.sh: kernel build failed (full log: $log)" >&2
	exit 1
fi
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
(cd "$tree" && make -s O="$obj" headers_install INSTALL_HDR_PATH="$out.tmp/usr" >>"$log" 2>&1)
mkdir -p "$out.tmp/selftests"
cp "$tree"/tools/testing/selftests/kselftest.h "$tree"/tools/testing/selftests/kselftest_harness.h "$out.tmp/selftests/"
cp "$obj/$image_src" "$obj/.config" "$out.tmp/"
cp "$obj/System.map" "$out.tmp/" 2>/dev/null || true
touch "$out.tmp/done"
rm -rf "$out"
mv "$out.tmp" "$out"
say "built in $(( $(date +%s) - start ))s: $out/$image_name"
# keep the cache bounded: the 4 most recent outputs of this variant stay
# (checkouts with different series then all hit the cache)
ls -1dt "$cache/out/$variant-"* 2>/dev/null | tail -n +5 | xargs -r rm -rf
emit
