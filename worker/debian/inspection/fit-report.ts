// Cuts an inspection report to its byte cap, the least useful parts first, and says so in its notes.
import type { DebListing } from '../../../services/debian/deb-inspection/deb-listing.ts';
import type { InspectionReport } from '../../../services/debian/deb-inspection/inspection-report-format.ts';

function byteLength(report: InspectionReport): number {
  return Buffer.byteLength(JSON.stringify(report));
}

/**
 * Cuts the report to `maxBytes`: first the listings' member arrays go (the comparisons keep the
 * differing members), then member differences are dropped from the end of each comparison.
 */
export function fitReport(report: InspectionReport, maxBytes: number): InspectionReport {
  if (byteLength(report) <= maxBytes) return report;
  const emptied = (area: DebListing['control']) => (area ? { ...area, members: [] } : null);
  const debs = report.debs.map((entry) =>
    'listing' in entry
      ? {
          ...entry,
          listing: {
            ...entry.listing,
            control: emptied(entry.listing.control),
            data: emptied(entry.listing.data),
          },
          membersOmitted: true,
        }
      : entry,
  );
  const notes = [
    ...report.notes,
    `listings' member arrays omitted to keep the report under ${maxBytes} bytes`,
  ];
  const slim: InspectionReport = { ...report, debs, notes };
  if (byteLength(slim) <= maxBytes) return slim;
  const cut = (keep: number): InspectionReport => ({
    ...slim,
    notes: [...notes, `member differences cut to ${keep} per pair to fit ${maxBytes} bytes`],
    comparisons: report.comparisons.map((pair) => {
      if (!pair.comparison || pair.comparison.members.length <= keep) return pair;
      return {
        ...pair,
        comparison: { ...pair.comparison, members: pair.comparison.members.slice(0, keep) },
        omittedMemberDifferences: pair.comparison.members.length - keep,
      };
    }),
  });
  let low = 0;
  let high = Math.max(0, ...report.comparisons.map((p) => p.comparison?.members.length ?? 0));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (byteLength(cut(mid)) <= maxBytes) low = mid;
    else high = mid - 1;
  }
  // Even with no differences kept the report can stay too large (many pairs, long hints): the
  // container's output cap and the host's size check catch that.
  return cut(low);
}
