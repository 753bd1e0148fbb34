/**
 * Which full ref names a short name can mean, in the order git tries them (gitrevisions(7),
 * "<refname>"): the name itself when it is `HEAD` or starts with `refs/`, then `refs/NAME`,
 * `refs/tags/NAME`, `refs/heads/NAME`, `refs/remotes/NAME`, `refs/remotes/NAME/HEAD`.
 * So a tag wins over a branch of the same name, as in `git rev-parse`. Pure.
 */

/** The full ref names `ref` may stand for, first match wins. `ref` must have passed assertRef. */
export function refCandidates(ref: string): string[] {
  const out = ref === 'HEAD' || ref.startsWith('refs/') ? [ref] : [];
  out.push(`refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`, `refs/remotes/${ref}`, `refs/remotes/${ref}/HEAD`);
  return out;
}
