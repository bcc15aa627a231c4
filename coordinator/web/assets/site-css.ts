// The pages' one stylesheet, served at a content-hashed path (assets.ts). Light and dark follow
// prefers-color-scheme; colours meet WCAG AA contrast for text (4.5:1) and marks (3:1) in both.
export const SITE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1a1a1a; --muted: #555b63; --line: #d5d8dc; --panel: #f4f5f7; --link: #0b57b0;
  --focus: #c2410c; --code-bg: #f1f3f5;
  --v-reproducible: #2e7d32; --v-agreed: #4a9e4f; --v-mismatch-upstream: #c2185b; --v-diverged: #d84a00;
  --v-inputs-differ: #8d6e63; --v-failed: #616161; --v-insufficient-operators: #808080;
  --v-environment-unavailable: #6d4c9f; --v-source-unavailable: #a1887f; --v-pending: #1976d2;
  --o-built: #2e7d32; --o-build-failure: #d84a00; --o-infrastructure: #6d4c9f; --o-cancelled: #8a8f96;
  --s0: #1976d2; --s1: #d84a00; --s2: #2e7d32; --s3: #6d4c9f; --s4: #c2185b; --s5: #5d6d00;
  --alarm-bg: #fdecef; --alarm-line: #c2185b;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121417; --fg: #e8eaed; --muted: #a9b0b8; --line: #3a3f45; --panel: #1c1f24; --link: #8ab4f8;
    --focus: #fdba74; --code-bg: #1c1f24;
    --v-reproducible: #66bb6a; --v-agreed: #a5d6a7; --v-mismatch-upstream: #f48fb1; --v-diverged: #ffab40;
    --v-inputs-differ: #bcaaa4; --v-failed: #9e9e9e; --v-insufficient-operators: #c7c7c7;
    --v-environment-unavailable: #b39ddb; --v-source-unavailable: #d7ccc8; --v-pending: #64b5f6;
    --o-built: #66bb6a; --o-build-failure: #ffab40; --o-infrastructure: #b39ddb; --o-cancelled: #9aa0a6;
    --s0: #64b5f6; --s1: #ffab40; --s2: #66bb6a; --s3: #b39ddb; --s4: #f48fb1; --s5: #d4e157;
    --alarm-bg: #3a1622; --alarm-line: #f48fb1;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: 0.5rem; z-index: 2; }
.skip:focus { left: 0.5rem; }
header.site, main, footer.site { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header.site { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding-top: 0.75rem;
  padding-bottom: 0.75rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 1.25rem; color: var(--fg); text-decoration: none; }
nav.site ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav.site li { white-space: nowrap; }
nav.site a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
form.search { display: flex; gap: 0.4rem; align-items: center; margin-left: auto; }
form.search label { font-size: 0.9rem; color: var(--muted); }
input[type="search"] { font: inherit; padding: 0.3rem 0.5rem; border: 1px solid var(--muted); border-radius: 4px;
  background: var(--bg); color: var(--fg); width: 14rem; max-width: 60vw; }
button { font: inherit; padding: 0.3rem 0.8rem; border: 1px solid var(--muted); border-radius: 4px;
  background: var(--panel); color: var(--fg); cursor: pointer; }
main { padding-top: 1rem; padding-bottom: 2rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 0.75rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.4rem; overflow-wrap: anywhere; }
p, li, dd { overflow-wrap: break-word; }
dd.mono, span.mono, h3.mono, bdi { overflow-wrap: anywhere; }
.lead { font-size: 1.1rem; }
.muted { color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
code { background: var(--code-bg); padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: var(--code-bg); padding: 0.75rem; border-radius: 4px; overflow: auto; max-height: 32rem;
  white-space: pre-wrap; overflow-wrap: anywhere; }
pre.command { white-space: pre-wrap; max-height: none; }
.copy { margin: 0.25rem 0 0.75rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line);
  overflow-wrap: break-word; }
td.path { min-width: 14rem; overflow-wrap: anywhere; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { display: inline-flex; align-items: center; gap: 0.35rem; white-space: nowrap; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; flex: none; }
.v-reproducible { fill: var(--v-reproducible); background: var(--v-reproducible); }
.v-agreed { fill: var(--v-agreed); background: var(--v-agreed); }
.v-mismatch-upstream { fill: var(--v-mismatch-upstream); background: var(--v-mismatch-upstream); }
.v-diverged { fill: var(--v-diverged); background: var(--v-diverged); }
.v-inputs-differ { fill: var(--v-inputs-differ); background: var(--v-inputs-differ); }
.v-failed { fill: var(--v-failed); background: var(--v-failed); }
.v-insufficient-operators { fill: var(--v-insufficient-operators); background: var(--v-insufficient-operators); }
.v-environment-unavailable { fill: var(--v-environment-unavailable); background: var(--v-environment-unavailable); }
.v-source-unavailable { fill: var(--v-source-unavailable); background: var(--v-source-unavailable); }
.v-pending { fill: var(--v-pending); background: var(--v-pending); }
.o-built { fill: var(--o-built); background: var(--o-built); }
.o-build-failure { fill: var(--o-build-failure); background: var(--o-build-failure); }
.o-infrastructure { fill: var(--o-infrastructure); background: var(--o-infrastructure); }
.o-cancelled { fill: var(--o-cancelled); background: var(--o-cancelled); }
svg .empty { fill: var(--line); }
svg.bar { width: 100%; min-width: 8rem; height: 1rem; display: block; }
svg.chart { width: 100%; height: auto; max-height: 22rem; display: block; }
svg.timeline { width: 100%; max-width: 42rem; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .series polyline { fill: none; stroke-width: 2.5; }
svg .series-0 polyline { stroke: var(--s0); } svg .series-0 .point { fill: var(--s0); }
svg .series-1 polyline { stroke: var(--s1); stroke-dasharray: 7 3; } svg .series-1 .point { fill: var(--s1); }
svg .series-2 polyline { stroke: var(--s2); stroke-dasharray: 2 3; } svg .series-2 .point { fill: var(--s2); }
svg .series-3 polyline { stroke: var(--s3); stroke-dasharray: 10 3 2 3; } svg .series-3 .point { fill: var(--s3); }
svg .series-4 polyline { stroke: var(--s4); } svg .series-4 .point { fill: var(--s4); }
svg .series-5 polyline { stroke: var(--s5); stroke-dasharray: 7 3; } svg .series-5 .point { fill: var(--s5); }
.series-key.series-0 { background: var(--s0); } .series-key.series-1 { background: var(--s1); }
.series-key.series-2 { background: var(--s2); } .series-key.series-3 { background: var(--s3); }
.series-key.series-4 { background: var(--s4); } .series-key.series-5 { background: var(--s5); }
svg.timeline a:focus-visible rect { stroke: var(--focus); stroke-width: 3; }
ul.legend { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; list-style: none; padding: 0; margin: 0.4rem 0; font-size: 0.9rem; }
ul.legend li { display: inline-flex; align-items: center; gap: 0.35rem; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 0.75rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem; background: var(--panel); }
.big { font-size: 2rem; font-weight: 700; line-height: 1.1; }
.alarms { border-left: 4px solid var(--alarm-line); background: var(--alarm-bg); padding: 0.5rem 1rem; border-radius: 4px; }
.alarms h2 { margin-top: 0.5rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0.5rem 0 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav.pages { display: flex; gap: 1rem; margin: 0.5rem 0 1.5rem; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; }
iframe.diffoscope { width: 100%; height: 36rem; border: 1px solid var(--line); background: #fff; }
.hazard { color: var(--v-mismatch-upstream); font-weight: 600; }
footer.site { border-top: 1px solid var(--line); padding-top: 0.75rem; padding-bottom: 2rem; color: var(--muted);
  font-size: 0.9rem; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  form.search { margin-left: 0; width: 100%; flex-wrap: wrap; }
  form.search label { width: 100%; }
  form.search input { flex: 1; width: auto; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 0.4rem; }
  th, td { padding: 0.3rem 0.4rem; }
}
`;
