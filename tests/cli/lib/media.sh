# media.sh - file systems for the fault and removable-media tests (sourced).
#
#   media_why_not                 why nothing can be mounted here (empty: it can)
#   media_fat32 IMG DIR           a fresh FAT32 image, mounted with fusefat
#   media_exfat IMG DIR           a fresh exFAT image on a loop device, exfat-fuse
#   media_remount_fat IMG DIR     mount an existing FAT image again
#   media_tmpfs DIR SIZE          a tmpfs of SIZE (e.g. 1m)
#   media_umount DIR              unmount whatever media_* mounted there (and
#                                 wait for its FUSE process to finish writing)
#   media_pull DIR                "pull the stick": SIGKILL the FUSE process
#   media_cleanup                 unmount everything (for the EXIT trap)
#
# MEDIA_WRAP (an array, e.g. strace with fault injection) runs the FAT FUSE
# process under it.
# The kernel here has no vfat: FAT goes through FUSE, as the issue asks.
# exfat-fuse run as root insists on a block device, hence the loop device.
MEDIA_MOUNTS=()
MEDIA_LOOPS=()
MEDIA_WRAP=()
declare -A MEDIA_PID=() # mount point -> its FUSE process (run in the foreground, so known)

media_why_not() {
    [ "$(id -u)" -eq 0 ] || { echo "not root (mounting needs it)"; return; }
    [ -c /dev/fuse ] || { echo "no /dev/fuse"; return; }
    command -v fusefat >/dev/null || { echo "fusefat is not installed (tests/deps.sh)"; return; }
    command -v mkfs.fat >/dev/null || { echo "mkfs.fat is not installed (dosfstools, tests/deps.sh)"; return; }
    command -v fusermount >/dev/null || command -v fusermount3 >/dev/null ||
        { echo "fusermount is not installed"; return; }
    local t
    t=$(mktemp -d) || { echo "no temporary folder"; return; }
    if ! mount -t tmpfs -o size=64k tmpfs "$t" 2>/dev/null; then
        rmdir "$t"
        echo "mount(2) is not permitted here"
        return
    fi
    umount "$t"
    rmdir "$t"
}

# Is something mounted on DIR?  (From the mount table: a FUSE mount whose
# process died cannot even be stat()ed.)
media_mounted() {
    awk -v d="$1" '$2 == d { f = 1 } END { exit !f }' /proc/self/mounts
}

# Wait until DIR is mounted (FUSE mounts come up asynchronously).
media_wait() {
    local dir=$1 i
    for i in $(seq 1 100); do
        media_mounted "$dir" && return 0
        sleep 0.05
    done
    return 1
}

media_remount_fat() {
    local img=$1 dir=$2
    mkdir -p "$dir"
    "${MEDIA_WRAP[@]}" fusefat -f -s -o rw+ "$img" "$dir" >/dev/null 2>&1 &
    MEDIA_PID[$dir]=$!
    disown # no "Killed" notices when a test kills it on purpose
    MEDIA_MOUNTS+=("$dir")
    media_wait "$dir"
}

media_fat32() {
    local img=$1 dir=$2
    rm -f "$img"
    truncate -s 40M "$img" && mkfs.fat -F 32 "$img" >/dev/null 2>&1 || return 1
    media_remount_fat "$img" "$dir"
}

media_exfat() {
    local img=$1 dir=$2 loop
    command -v mkfs.exfat >/dev/null && command -v mount.exfat-fuse >/dev/null || return 1
    rm -f "$img"
    truncate -s 40M "$img" && mkfs.exfat "$img" >/dev/null 2>&1 || return 1
    loop=$(losetup -f --show "$img" 2>/dev/null) || return 1
    MEDIA_LOOPS+=("$loop")
    mkdir -p "$dir"
    mount.exfat-fuse -d "$loop" "$dir" >/dev/null 2>&1 &
    MEDIA_PID[$dir]=$!
    disown
    MEDIA_MOUNTS+=("$dir")
    media_wait "$dir"
}

media_tmpfs() {
    local dir=$1 size=$2
    mkdir -p "$dir"
    mount -t tmpfs -o "size=$size,mode=0755" tmpfs "$dir" || return 1
    MEDIA_MOUNTS+=("$dir")
}

media_umount() {
    local dir=$1 pid=${MEDIA_PID[$1]:-} i
    if media_mounted "$dir"; then
        umount "$dir" 2>/dev/null || fusermount -u "$dir" 2>/dev/null || umount -l "$dir"
    fi
    # The FUSE process writes the image until it exits.
    if [ -n "$pid" ]; then
        for i in $(seq 1 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        unset "MEDIA_PID[$dir]"
    fi
    ! media_mounted "$dir"
}

media_pull() {
    local dir=$1 pid=${MEDIA_PID[$1]:-}
    local i
    if [ -n "$pid" ]; then
        # The FUSE process itself, also when it runs under MEDIA_WRAP.
        kill -KILL $(pgrep -P "$pid") "$pid" 2>/dev/null
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
    fi
    umount -l "$dir" 2>/dev/null
    unset "MEDIA_PID[$dir]"
}

media_cleanup() {
    local d l
    for d in "${MEDIA_MOUNTS[@]}"; do
        media_umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
    done
    for l in "${MEDIA_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
    MEDIA_MOUNTS=()
    MEDIA_LOOPS=()
}
