import { formatDecimal, parseDecimal } from '@pipeline/schemas';

/** Amounts as exact minor units (cents): numeric(12, 2) text in, text out, never a binary float. */
const SCALE = 2;
const PRECISION = 14;

export const toCents = (text: string): bigint => parseDecimal(text, PRECISION, SCALE);
export const fromCents = (cents: bigint): string => formatDecimal(cents, SCALE);

/** quantity × unit price, exactly. */
export const lineTotal = (quantity: number, unitPrice: string): bigint => BigInt(quantity) * toCents(unitPrice);

export const sumCents = (amounts: readonly bigint[]): bigint => amounts.reduce((sum, amount) => sum + amount, 0n);

/**
 * An amount for people: "1,234.50 USD" style, with the currency's symbol where the locale has one.
 * Intl formats the decimal text itself (no float on the way), so 0.30 stays 0.30.
 */
export function formatMoney(cents: bigint, currency: string, locale = 'en-US'): string {
  const text = fromCents(cents);
  const format = formatterFor(locale, currency);
  // Intl.NumberFormat v3 formats a decimal string exactly; the typings only know numbers.
  return format ? format.format(text as unknown as number) : `${text} ${currency}`;
}

/** Formatters are costly to build: one per locale and currency (null for a currency Intl does not know). */
const formatters = new Map<string, Intl.NumberFormat | null>();
function formatterFor(locale: string, currency: string): Intl.NumberFormat | null {
  const key = `${locale}|${currency}`;
  let format = formatters.get(key);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      format = null;
    }
    formatters.set(key, format);
  }
  return format;
}
