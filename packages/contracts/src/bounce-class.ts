/**
 * Which permanent refusals say "this address does not exist" and so suppress it (README,
 * "Suppressions"). Only the address-status class of RFC 3463 that is about the recipient:
 * 5.1.1 bad mailbox, 5.1.2 bad domain, 5.1.3 bad address syntax, 5.1.6 moved, 5.1.10 null MX.
 * Never 5.1.7/5.1.8 (about our sender), 5.2.x (mailbox full or disabled: may come back),
 * 5.7.x (policy, spam, authentication) or 5.6.x (content): those say nothing about the address.
 * A 550/551/553 without an enhanced code counts only when its text says the user is unknown.
 */
const HARD_ENHANCED = /^5\d\d[ -]5\.1\.(1|2|3|6|10)(\s|$)/;
const ENHANCED = /^\d{3}[ -]\d\.\d{1,3}\.\d{1,3}(\s|$)/;
const UNKNOWN_USER =
  /\b(user unknown|unknown user|no such (user|mailbox|recipient)|mailbox (not found|does not exist)|recipient (address )?rejected: user unknown|does not exist)\b/i;

export function isHardBounce(reply: string | null | undefined): boolean {
  if (!reply) return false;
  if (HARD_ENHANCED.test(reply)) return true;
  if (ENHANCED.test(reply)) return false;
  return /^55[013][ -]/.test(reply) && UNKNOWN_USER.test(reply);
}
