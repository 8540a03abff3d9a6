#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager (Kubernetes v1.37.2) from
# the Go module proxy into a cache directory outside the clone, unless they
# are already there. Prints the directory on its last line of stdout.
#
#   scripts/k8s-testenv/build.sh            # build if missing, print dir
#   K8S_TESTENV_DIR=/some/dir build.sh      # other cache location
#   K8S_TESTENV_REBUILD=1 build.sh          # rebuild even if present
#
# k8s/apiserver_test.go (TestManifestsOnAPIServer) looks for the binaries in
# the same directory: ${K8S_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mediarec/k8s-testenv/v1.37.2}.
# A cold build takes about 18 minutes on 2 cores and ~3 GB of memory; see
# README.md beside this script.
set -euo pipefail

VERSION=v1.37.2
MAJOR=1
MINOR=37

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${K8S_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mediarec/k8s-testenv/$VERSION}"
bins=(kube-apiserver kube-controller-manager)

if ! grep -q "k8s.io/kubernetes $VERSION" "$here/go.mod"; then
	echo "build.sh: $here/go.mod does not require k8s.io/kubernetes $VERSION" >&2
	exit 1
fi

# have BIN: the cached binary exists and reports the expected version.
have() {
	[[ -x "$dir/$1" ]] && "$dir/$1" --version 2>/dev/null | grep -qx "Kubernetes $VERSION"
}

mkdir -p "$dir"

# One build at a time per cache directory (a developer and a CI run on the
# same machine may both call this).
if command -v flock >/dev/null; then
	exec 9>"$dir/.build.lock"
	flock 9
fi

export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=$MAJOR"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$MINOR"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
# Also stamp client-go's copy, used in the User-Agent.
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$VERSION"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=$MAJOR"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"

cd "$here"
for b in "${bins[@]}"; do
	if [[ -z "${K8S_TESTENV_REBUILD:-}" ]] && have "$b"; then
		echo "build.sh: $b $VERSION already in $dir" >&2
		continue
	fi
	echo "build.sh: building $b $VERSION (go $(go env GOVERSION)) ..." >&2
	start=$(date +%s)
	tmp="$dir/.$b.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	go build -trimpath -ldflags "$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/$b"
	mv -f "$tmp" "$dir/$b"
	trap - EXIT
	echo "build.sh: built $b in $(( $(date +%s) - start ))s" >&2
	if ! have "$b"; then
		echo "build.sh: $dir/$b --version does not print 'Kubernetes $VERSION'" >&2
		exit 1
	fi
done

echo "$dir"
