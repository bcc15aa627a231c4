// The one escaping helper: every value a template is given ends up as text, whatever it holds.
import { describe, expect, it } from 'vitest';
import { escapeHtml, href, html, shorten, trusted } from './html.ts';

describe('escapeHtml', () => {
  it('turns the five HTML-significant characters into references', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;',
    );
  });

  it('shows invisible controls and bidirectional overrides as [U+XXXX], keeping tab and line feed', () => {
    expect(escapeHtml('gpj.exe\u202E')).toBe('gpj.exe[U+202E]');
    expect(escapeHtml('a\u0000b\u001bc\u200fd\u2066e\u0085f')).toBe(
      'a[U+0000]b[U+001B]c[U+200F]d[U+2066]e[U+0085]f',
    );
    expect(escapeHtml('line one\n\tline two')).toBe('line one\n\tline two');
    expect(escapeHtml('carriage\rreturn')).toBe('carriage[U+000D]return');
  });

  it('leaves ordinary text, non-Latin scripts and emoji as they are', () => {
    expect(escapeHtml('hello 2.10-3 ελληνικά עברית 🙂')).toBe('hello 2.10-3 ελληνικά עברית 🙂');
  });
});

describe('html``', () => {
  it('escapes every interpolated string and number, in text and in attributes', () => {
    const name = `"><img src=x onerror=alert(1)>`;
    expect(html`<a title="${name}">${name}</a>`.toString()).toBe(
      '<a title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>',
    );
    expect(html`<td>${42}</td>`.toString()).toBe('<td>42</td>');
  });

  it('nests templates without escaping them twice, and flattens arrays', () => {
    const cells = ['a<b', 'c&d'].map((v) => html`<td>${v}</td>`);
    expect(html`<tr>${cells}</tr>`.toString()).toBe('<tr><td>a&lt;b</td><td>c&amp;d</td></tr>');
  });

  it('writes nothing for null, undefined and false', () => {
    expect(html`[${null}${undefined}${false}]`.toString()).toBe('[]');
  });

  it('passes markup only through trusted(), which the pages use for constants alone', () => {
    expect(html`${trusted('<br>')}`.toString()).toBe('<br>');
  });

  it('refuses a value it does not know how to write', () => {
    expect(() => html`${{} as never}`).toThrow(TypeError);
  });
});

describe('href', () => {
  it('encodes every path segment and query value: a value can never choose a scheme, host or path', () => {
    expect(href(['packages', 'javascript:alert(1)'])).toBe('/packages/javascript%3Aalert(1)');
    expect(href(['packages', '../../v1/admin'])).toBe('/packages/..%2F..%2Fv1%2Fadmin');
    expect(href(['packages', '//evil.example'])).toBe('/packages/%2F%2Fevil.example');
    expect(href(['packages'], { q: 'a&b=c', after: undefined })).toBe('/packages?q=a%26b%3Dc');
  });
});

describe('shorten', () => {
  it('cuts by code points and marks the cut', () => {
    expect(shorten('abcdef', 4)).toBe('abc…');
    expect(shorten('🙂🙂🙂', 2)).toBe('🙂…');
    expect(shorten('abc', 3)).toBe('abc');
  });
});
