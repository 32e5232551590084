/**
 * `time` conditions: weekday and hour windows on the wall clock of an IANA timezone.
 *
 * - `hours: {from, to}` is the half-open interval [from, to) in fractional hours (9.5 = 09:30).
 *   `from < to`: same day. `from > to`: the window wraps midnight (22 → 6 is 22:00–06:00) and
 *   the part after midnight belongs to the day the window started, so with
 *   `weekdays: [fri], hours: {from: 22, to: 6}` Saturday 02:00 is inside and Friday 02:00 is not.
 *   `from == to`: the whole day.
 * - `weekdays` alone: the whole of those days. Neither: always inside.
 * - `timezone` defaults to UTC.
 */
import { CraError } from '../errors.js';
import { WEEKDAYS, type TimeWindow, type Weekday } from './types.js';

export const DEFAULT_TIMEZONE = 'UTC';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** True when `timezone` is an IANA zone name this runtime knows. */
export function isValidTimezone(timezone: string): boolean {
  try {
    formatterFor(timezone);
    return true;
  } catch {
    return false;
  }
}

const SHORT_DAYS: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

/** Weekday and fractional hour of an instant in a timezone. */
export function wallClock(epochMs: number, timezone: string): { weekday: Weekday; hour: number } {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = formatterFor(timezone).formatToParts(new Date(epochMs));
  } catch (cause) {
    throw new CraError('INTERNAL_ERROR', `invalid time condition: ${String(cause)}`, { cause });
  }
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = SHORT_DAYS[get('weekday')];
  if (weekday === undefined) throw new CraError('INTERNAL_ERROR', `unexpected weekday for ${timezone}`);
  const hour = Number(get('hour')) + Number(get('minute')) / 60 + Number(get('second')) / 3600;
  return { weekday, hour };
}

function previousDay(day: Weekday): Weekday {
  const i = WEEKDAYS.indexOf(day);
  return WEEKDAYS[(i + WEEKDAYS.length - 1) % WEEKDAYS.length] ?? day;
}

/** Whether the instant `epochMs` falls inside the window. */
export function inTimeWindow(window: TimeWindow, epochMs: number): boolean {
  const { weekday, hour } = wallClock(epochMs, window.timezone ?? DEFAULT_TIMEZONE);
  let day = weekday;
  if (window.hours) {
    const { from, to } = window.hours;
    if (from < to) {
      if (hour < from || hour >= to) return false;
    } else if (from > to) {
      if (hour < to) day = previousDay(weekday);
      else if (hour < from) return false;
    }
  }
  return window.weekdays === undefined || window.weekdays.includes(day);
}
