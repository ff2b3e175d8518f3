import { EMAIL_IN_TEXT } from './visitor-identifiers.ts';

/**
 * Masks for what must never be stored in free text. Deterministic: the same text always gives
 * the same masked text, and a mask says what was there:
 * - a card number (13–19 digits, optionally in groups separated by single spaces or dashes, not
 *   starting with 0 or after a `+`, passing the Luhn check) becomes `[card ****1111]` (its last four digits, as PCI DSS allows);
 * - an e-mail address becomes `[email]`;
 * - a phone number becomes `[phone]`: 7–15 digits after `+` or `00` (grouped or not), or 9–15
 *   digits in groups separated by single spaces, dashes, dots or a group in parentheses. A bare
 *   run of digits without `+`/`00` (an order or reference number), ISO dates, IPv4 addresses,
 *   prices and years stay.
 * Cards are masked before phones, so a card number is never taken for a phone number.
 */
export const MASK_KINDS = ['cards', 'emails', 'phones'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

/** Digit groups joined by one space or dash, not glued to letters, other digits or a `+`. */
const DIGIT_GROUPS = /(?<![\p{L}\p{N}_+])\d+(?:[ -]\d+)*(?![\p{L}\p{N}_])/gu;
const PHONE =
  /(?<![\p{L}\p{N}_+])(?:(?:\+|\b00)\d{7,15}|(?:\+|\b00)?(?:\(\d{1,4}\)|\d{1,4})(?:(?:[ .-]|(?=\())(?:\(\d{1,4}\)|\d{1,5})){1,7})(?![\p{L}\p{N}_])/gu;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export function maskText(text: string, kinds: ReadonlySet<MaskKind>): string {
  let masked = text;
  if (kinds.has('cards')) masked = maskCards(masked);
  if (kinds.has('emails') && masked.includes('@')) masked = masked.replace(EMAIL_IN_TEXT, '[email]');
  if (kinds.has('phones')) masked = maskPhones(masked);
  return masked;
}

export function maskCards(text: string): string {
  return text.replace(DIGIT_GROUPS, (run) => {
    // Try every span of whole groups, longest first, so a card beside other numbers is still found.
    const groups = run.split(/(?<=\d)(?=[ -])|(?<=[ -])(?=\d)/);
    const digitGroups = groups.filter((part) => /\d/.test(part));
    if (digitGroups.join('').length < 13) return run;
    for (let length = digitGroups.length; length >= 1; length -= 1) {
      for (let start = 0; start + length <= digitGroups.length; start += 1) {
        const digits = digitGroups.slice(start, start + length).join('');
        // No card number starts with 0 (ISO/IEC 7812); `00…` is an international phone prefix.
        if (digits.length < 13 || digits.length > 19 || digits.startsWith('0') || !luhnValid(digits)) continue;
        const before = groups.slice(0, start * 2).join('');
        const after = groups.slice((start + length) * 2 - 1).join('');
        return `${before}[card ****${digits.slice(-4)}]${maskCards(after)}`;
      }
    }
    return run;
  });
}

export function maskPhones(text: string): string {
  return text.replace(PHONE, (candidate) => {
    const digits = candidate.replace(/\D/g, '');
    const international = candidate.startsWith('+') || candidate.startsWith('00');
    if (digits.length > 15 || digits.length < (international ? 7 : 9)) return candidate;
    if (ISO_DATE.test(candidate) || IPV4.test(candidate)) return candidate;
    return '[phone]';
  });
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
