# Sourced by the service scripts: installs a missing Debian package, as root, or says how to.
#   debian_install <package> <name for messages>
debian_install() {
  local package=$1 name=$2 me
  me=$(basename "$0")
  if [ "$(id -u)" -ne 0 ]; then
    echo "$me: $name is not installed; run as root or install Debian's '$package' package" >&2; exit 1
  fi
  echo "$me: installing $name from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$package" >&2
}
