// Alert events as an Atom 1.0 feed (RFC 4287): every text escaped, characters XML cannot carry
// dropped, entry ids that never change (the event's UUID) and times the events were decided.
import type { AlertKind } from './alert-event.ts';

export const ATOM_CONTENT_TYPE = 'application/atom+xml; charset=utf-8';

export interface AtomAlertEntry {
  readonly eventId: string;
  readonly kind: AlertKind;
  readonly summary: string;
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly maintainer: string;
  /** RFC 3339 UTC. */
  readonly occurredAt: string;
  /** Where the build can be read (the API's build view). */
  readonly buildUrl: string;
}

export interface AtomAlertFeed {
  /** The feed's own URL with its query, in a canonical order: also its id. */
  readonly selfUrl: string;
  readonly title: string;
  /** Newest first. */
  readonly entries: readonly AtomAlertEntry[];
}

/** Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Escapes `value` for XML text and attribute values (double-quoted). */
export function escapeXml(value: string): string {
  return value
    .replace(NOT_XML, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** When nothing happened yet: a fixed time, so an empty feed reads the same every time. */
const EMPTY_FEED_UPDATED = '1970-01-01T00:00:00.000Z';

function entryXml(entry: AtomAlertEntry): string {
  const e = escapeXml;
  return [
    '  <entry>',
    `    <id>urn:uuid:${e(entry.eventId)}</id>`,
    `    <title>${e(`${entry.kind}: ${entry.package} ${entry.version} (${entry.architecture})`)}</title>`,
    `    <updated>${e(entry.occurredAt)}</updated>`,
    `    <published>${e(entry.occurredAt)}</published>`,
    `    <link rel="alternate" type="application/json" href="${e(entry.buildUrl)}"/>`,
    `    <category term="${e(entry.kind)}"/>`,
    `    <author><name>${e(entry.maintainer)}</name></author>`,
    `    <summary type="text">${e(entry.summary)}</summary>`,
    '  </entry>',
  ].join('\n');
}

/** The whole document. */
export function renderAtomFeed(feed: AtomAlertFeed): string {
  const e = escapeXml;
  const updated = feed.entries[0]?.occurredAt ?? EMPTY_FEED_UPDATED;
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${e(feed.selfUrl)}</id>`,
    `  <title>${e(feed.title)}</title>`,
    `  <updated>${e(updated)}</updated>`,
    `  <link rel="self" type="application/atom+xml" href="${e(feed.selfUrl)}"/>`,
    '  <author><name>rbnet</name></author>',
    '  <generator>rbnet</generator>',
    ...feed.entries.map(entryXml),
    '</feed>',
    '',
  ].join('\n');
}
