/** True for an IANA time zone name this Node.js knows, such as "UTC" or "Europe/Berlin". */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
