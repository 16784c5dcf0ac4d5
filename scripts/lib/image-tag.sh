# shellcheck shell=bash
# The image tag for the working tree: the commit's short hash on a clean tree; on a dirty one the
# hash plus "-dirty-" and a hash of the changes (the diff against HEAD and the untracked files'
# contents), so a changed tree never reuses a tag and the nodes never run a stale cached image.
# Outside a git checkout: a UTC timestamp (a new tag every build). Sourced by scripts/deploy.sh.

image_tag() {
  local sha changes
  if ! sha="$(git rev-parse --short=12 HEAD 2>/dev/null)"; then
    date -u +%Y%m%d%H%M%S
    return
  fi
  if [ -z "$(git status --porcelain --untracked-files=normal 2>/dev/null)" ]; then
    printf '%s\n' "$sha"
    return
  fi
  changes="$( { git diff HEAD --binary; git ls-files --others --exclude-standard -z | xargs -0 -r sha256sum --; } | sha256sum | cut -c1-10)"
  printf '%s-dirty-%s\n' "$sha" "$changes"
}
