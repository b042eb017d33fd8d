/**
 * A small horizontal bar chart drawn as SVG by hand (no chart library, no third-party origin), with
 * its numbers in a table view beside it for screen readers and for anyone who wants the figures.
 */
import { useId } from 'react';

export interface Series {
  readonly name: string;
  /** How a value reads in the table and the bar's label. */
  readonly format: (v: number) => string;
}

export interface BarRow {
  readonly label: string;
  /** One value per series; null: nothing to show (no bar, "—" in the table). */
  readonly values: readonly (number | null)[];
}

const ROW_H = 18;
const LABEL_W = 130;
const WIDTH = 560;
const VALUE_W = 70;

export function BarChart({
  title,
  series,
  rows,
  max,
}: {
  title: string;
  series: readonly Series[];
  rows: readonly BarRow[];
  /** The value of a full-width bar (1 for rates); default: the largest value. */
  max?: number;
}) {
  const id = useId();
  const top = Math.max(max ?? 0, ...rows.flatMap((r) => r.values.map((v) => v ?? 0)), 1e-9);
  const groupH = series.length * ROW_H + 10;
  const height = Math.max(rows.length, 1) * groupH + 24;
  const barW = WIDTH - LABEL_W - VALUE_W;
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {rows.length === 0 ? (
        <p className="muted">Nothing in this window.</p>
      ) : (
        <>
          <svg
            viewBox={`0 0 ${WIDTH} ${height}`}
            width="100%"
            role="img"
            aria-label={`${title} (chart; the table view has the same numbers)`}
          >
            {series.map((s, k) => (
              <g key={s.name} transform={`translate(${LABEL_W + k * 150}, 4)`}>
                <rect width="10" height="10" className={`bar s${k}`} />
                <text x="14" y="9" className="legend">
                  {s.name}
                </text>
              </g>
            ))}
            {rows.map((r, i) => (
              <g key={r.label} transform={`translate(0, ${24 + i * groupH})`}>
                <text x={LABEL_W - 6} y={(series.length * ROW_H) / 2 + 4} textAnchor="end" className="label">
                  {r.label.length > 18 ? `${r.label.slice(0, 17)}…` : r.label}
                </text>
                {series.map((s, k) => {
                  const v = r.values[k] ?? null;
                  const w = v === null ? 0 : Math.max(1, (v / top) * barW);
                  return (
                    <g key={s.name} transform={`translate(${LABEL_W}, ${k * ROW_H})`}>
                      <rect width={w} height={ROW_H - 4} className={`bar s${k}`} />
                      <text x={w + 4} y={ROW_H - 7} className="value">
                        {v === null ? '—' : s.format(v)}
                      </text>
                    </g>
                  );
                })}
              </g>
            ))}
          </svg>
          <details className="table-view">
            <summary>Table view</summary>
            <div className="table-wrap" tabIndex={0} role="region" aria-label={`${title} as a table`}>
              <table aria-label={title}>
                <thead>
                  <tr>
                    <th scope="col" />
                    {series.map((s) => (
                      <th key={s.name} scope="col">
                        {s.name}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.label}>
                      <th scope="row">{r.label}</th>
                      {series.map((s, k) => {
                        const v = r.values[k] ?? null;
                        return <td key={s.name}>{v === null ? '—' : s.format(v)}</td>;
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </figure>
  );
}

export const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
export const secs = (v: number) =>
  v < 120 ? `${Math.round(v * 10) / 10} s` : `${Math.round(v / 6) / 10} min`;
export const count = (v: number) => String(v);
