/**
 * A connection URL fit to print or log: the password in its user part and any `password` query
 * parameter become `***`. Every place that shows a database URL goes through here.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/([^:/@]*):.*@/, '//$1:***@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
  if (parsed.password) parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) if (key.toLowerCase() === 'password') parsed.searchParams.set(key, '***');
  return parsed.toString();
}
