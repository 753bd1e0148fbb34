/**
 * The pre-receive hook's fast path: a small Perl program (the hook file itself) that hands the
 * check to the nft-sync server serving the repository, over the unix socket
 * `GIT_DIR/nft-sync/hook.sock` (server/push/push-check-service.ts), and falls back to the full
 * validator in a process of its own (`nft-sync hook pre-receive`) whenever the server cannot
 * answer.
 *
 * Why Perl: every push waits for the hook to start. perl with no module starts in a few ms
 * where node takes 40 to 100 ms (the Socket module alone added about 30 ms on a loaded host, so
 * the client uses the socket builtins with Linux's numbers, and the module only where those
 * fail), and perl-base is an Essential package on Debian
 * (where nftables runs), so it is always there; when it is not, the installer writes a hook that
 * runs the full validator directly (server/push/pre-receive-hook.ts).
 *
 * The protocol, text lines:
 *  - request: `nft-sync-check 1`, `cwd ABS` (the hook's working directory), `dir GIT_DIR`,
 *    `env NAME=VALUE` for each of GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES and
 *    GIT_QUARANTINE_PATH that is set, an empty line, then git's ref lines (the hook's stdin) up to
 *    the end of the request (the client shuts its side down). At most HOOK_REQUEST_MAX bytes.
 *  - answer: `say TEXT` for each line to show the pusher, `wait` every HOOK_HEARTBEAT_MS while
 *    the check runs, then `exit 0` / `exit 1`, or `fallback WHY` when the server will not judge
 *    this push (the client then checks it itself).
 * Only an `exit` from the server decides; anything else (no socket, a socket directory not owned
 * by this user or open to others, a connection that ends early, a server silent for
 * HOOK_SILENCE_MS) runs the full validator: the hand-off can make a push faster, never let one
 * through unchecked.
 */
import { SERVER_DEFAULTS } from '../defaults.js';

/** The socket's directory inside the git dir, and the socket's name in it. */
export const HOOK_SOCKET_DIR = 'nft-sync';
export const HOOK_SOCKET_NAME = 'hook.sock';
/** Largest request the server reads (the ref lines of a push of several thousand refs). */
export const HOOK_REQUEST_MAX = SERVER_DEFAULTS.pushChecks.requestMaxBytes;
/** While a check runs the server says `wait` this often; the client gives up after HOOK_SILENCE_MS without a word. */
export const HOOK_HEARTBEAT_MS = SERVER_DEFAULTS.pushChecks.heartbeatMs;
export const HOOK_SILENCE_MS = SERVER_DEFAULTS.pushChecks.silenceMs;
/** First line of a request. */
export const HOOK_REQUEST_MAGIC = 'nft-sync-check 1';

/** A Perl single-quoted string literal. */
function perlQuote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The hook program: `perl` its interpreter, `marker` its first comment line (how the server
 * recognises its own hook), `validator` the argv of the full validator.
 */
export function perlHookScript(perl: string, marker: string, validator: readonly string[]): string {
  return `#!${perl}
${marker}: validates the pushed rulesets; written by nft-sync, rewritten when the server starts.
# The check runs in the nft-sync server when one serves this repository (socket nft-sync/hook.sock
# in the git dir); otherwise, or if it cannot answer, the full validator runs here. Same checks,
# once per push, either way. See server/push/pre-receive-client.ts in nft-sync for the protocol.
# No \`use warnings\` and no Socket module at start: loading them took longer than the rest of
# this program (Socket alone about 30 ms on a loaded host), on every push.
use strict;

my @validator = (${validator.map(perlQuote).join(', ')});
binmode STDIN;
my $input = do { local $/; <STDIN> };
$input = '' unless defined $input;

# The full validator in a process of its own, given the same input; its exit status is ours.
sub validate_here {
  my ($why) = @_;
  print STDERR "nft-sync: the server did not take the check ($why); checking here\\n" if defined $why;
  my $pid = open(my $to, '|-');
  if (!defined $pid) { print STDERR "nft-sync: cannot run the validator: $!\\n"; exit 1; }
  if ($pid == 0) { exec { $validator[0] } @validator; die "nft-sync: cannot run the validator: $!\\n"; }
  $SIG{$_} = sub { kill $_[0], $pid } for qw(TERM INT HUP);
  $SIG{PIPE} = 'IGNORE';
  binmode $to;
  print $to $input;
  close $to;
  exit(($? & 127) ? 1 : ($? >> 8));
}

# A stream socket connected to the unix socket $path, or undef. Linux's numbers first (AF_UNIX 1,
# SOCK_STREAM 1); where they are not those (SOCK_STREAM is 2 on MIPS) and a socket is there,
# again with the Socket module's.
sub unix_connect {
  my ($path) = @_;
  my $s;
  return $s if socket($s, 1, 1, 0) && connect($s, pack('S', 1) . $path);
  return undef unless -S $path;
  require Socket;
  return $s if socket($s, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) && connect($s, Socket::pack_sockaddr_un($path));
  return undef;
}

# Ask the server; returns its exit code, or undef with why it gave none (undef: say nothing).
sub hand_off {
  my $gitdir = defined $ENV{GIT_DIR} ? $ENV{GIT_DIR} : '.';
  my $dir = "$gitdir/${HOOK_SOCKET_DIR}";
  my @st = lstat $dir;
  return (undef, undef) unless @st && -d _ && $st[4] == $< && ($st[2] & 077) == 0;
  my $cwd = readlink '/proc/self/cwd';
  return (undef, undef) unless defined $cwd;
  my @head = (${perlQuote(HOOK_REQUEST_MAGIC)}, "cwd $cwd", "dir $gitdir");
  for my $k (qw(GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH)) {
    push @head, "env $k=$ENV{$k}" if defined $ENV{$k};
  }
  return (undef, undef) if grep { /\\n/ } @head;
  my $request = join("\\n", @head) . "\\n\\n" . $input;
  my $path = "$dir/${HOOK_SOCKET_NAME}";
  return (undef, undef) if length($request) > ${HOOK_REQUEST_MAX} || length($path) > 100;
  my $s = unix_connect($path);
  return (undef, undef) unless $s;
  $SIG{PIPE} = 'IGNORE';
  for (my $off = 0; $off < length $request;) {
    my $n = syswrite($s, $request, length($request) - $off, $off);
    return (undef, 'the request could not be sent') unless $n;
    $off += $n;
  }
  shutdown($s, 1);
  my ($exit, $fallback, $buf) = (undef, undef, '');
  my $heard = eval {
    local $SIG{ALRM} = sub { die "silent\\n" };
    while (1) {
      alarm ${Math.ceil(HOOK_SILENCE_MS / 1000)};
      my $n = sysread($s, my $chunk, 65536);
      alarm 0;
      last unless $n;
      $buf .= $chunk;
      while ($buf =~ s/^([^\\n]*)\\n//) {
        my $line = $1;
        if ($line =~ /^say (.*)$/s) { print STDERR "$1\\n"; }
        elsif ($line =~ /^exit ([01])$/) { $exit = $1; }
        elsif ($line =~ /^fallback (.*)$/s) { $fallback = $1; }
      }
    }
    1;
  };
  alarm 0;
  return ($exit, undef) if defined $exit;
  return (undef, $fallback || ($heard ? 'the connection ended before a verdict' : 'the server stopped answering'));
}

# Whatever goes wrong in the hand-off, the push is still judged: by the full validator.
my ($exit, $why) = eval { hand_off() };
$why = "the hand-off failed: $@" if !defined $exit && !defined $why && $@;
$why =~ s/\s+$// if defined $why;
exit $exit if defined $exit;
validate_here($why);
`;
}
