/// A self-contained HTML report: the results as JSON in the page, and a small script that renders the summary
/// table and two inline SVG plots (IOPS per second per worker, latency distribution) when the page loads. No
/// network access, no external files.
///
/// Rendered elements carry `data-metric` / `data-*` attributes so a test (or a script) can read the values back
/// from the rendered DOM.
public enum HTMLReport {
    public static func render(_ result: WorkloadResult, title: String = "NVMeKit IOWorker report") -> String {
        let json = result.json().replacingOccurrences(of: "</", with: "<\\/")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
        table { border-collapse: collapse; margin-bottom: 16px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        .mismatch { color: #b00; white-space: pre-wrap; font-family: monospace; }
        svg { background: #fafafa; border: 1px solid #ddd; }
        .axis { stroke: #888; } .label { font-size: 11px; fill: #444; }
        </style></head>
        <body>
        <h1>\(escape(title))</h1>
        <table id="summary"><thead><tr><th>worker</th><th>IOs</th><th>IOPS</th><th>MB/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>mean QD</th><th>errors</th><th>timeouts</th><th>late</th><th>aborted by reset</th><th>resets</th><th>verified blocks</th><th>mismatches</th></tr></thead><tbody></tbody></table>
        <div id="stopped"></div>
        <div id="mismatches"></div>
        <h2>IOPS over time</h2><div id="iops-plot"></div>
        <h2>Latency distribution</h2><div id="latency-plot"></div>
        <script id="results" type="application/json">
        \(json)
        </script>
        <script>
        \(script)
        </script>
        </body></html>
        """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let script = #"""
    (function () {
      const data = JSON.parse(document.getElementById('results').textContent);
      const NS = 'http://www.w3.org/2000/svg';
      const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
      function el(tag, attrs, text) {
        const e = document.createElementNS(NS, tag);
        for (const k in attrs) e.setAttribute(k, attrs[k]);
        if (text !== undefined) e.textContent = text;
        return e;
      }
      function fmtNs(ns) {
        if (ns < 10000) return ns + ' ns';
        if (ns < 10000000) return (ns / 1000).toFixed(1) + ' us';
        return (ns / 1000000).toFixed(1) + ' ms';
      }
      const rows = data.workers.length > 1 ? data.workers.concat([data.total]) : data.workers;
      const tbody = document.querySelector('#summary tbody');
      rows.forEach(function (w) {
        const tr = document.createElement('tr');
        tr.setAttribute('data-worker', w.name);
        const cells = [['name', w.name], ['ios', w.ios], ['iops', Math.round(w.iops)], ['mbps', w.mbPerSecond.toFixed(1)],
          ['p50', fmtNs(w.latencyNs.p50)], ['p99', fmtNs(w.latencyNs.p99)], ['p999', fmtNs(w.latencyNs.p999)],
          ['max', fmtNs(w.latencyNs.max)], ['qd', w.meanQueueDepth.toFixed(2)], ['errors', w.errors],
          ['timeouts', w.timeouts], ['late', w.lateCompletions], ['aborted', w.abortedByReset], ['resets', w.resets],
          ['verified', w.verifiedBlocks], ['mismatches', w.mismatchCount]];
        cells.forEach(function (c) {
          const td = document.createElement('td');
          td.setAttribute('data-metric', c[0]);
          td.textContent = String(c[1]);
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
      const stopped = document.getElementById('stopped');
      data.workers.forEach(function (w) {
        if (!w.stopReason) return;
        const p = document.createElement('p');
        p.className = 'mismatch'; p.setAttribute('data-stopped', w.name);
        p.textContent = w.name + ' ' + w.stopReason;
        stopped.appendChild(p);
      });
      const mm = document.getElementById('mismatches');
      data.workers.forEach(function (w) {
        (w.mismatches || []).forEach(function (m) {
          const p = document.createElement('p');
          p.className = 'mismatch'; p.setAttribute('data-lba', m.lba);
          p.textContent = w.name + ': ' + m.description;
          mm.appendChild(p);
        });
      });

      // IOPS over time: one polyline per worker, a circle per second.
      (function () {
        const W = 760, H = 260, L = 70, B = 30, T = 10, R = 10;
        const series = data.workers.map(function (w) { return w.iopsSeries; });
        const n = Math.max(1, Math.max.apply(null, series.map(function (s) { return s.length; })));
        const top = Math.max(1, Math.max.apply(null, series.map(function (s) { return Math.max.apply(null, s.concat([0])); })));
        const svg = el('svg', {width: W, height: H, id: 'iops-svg', 'data-max': top, 'data-seconds': n});
        svg.appendChild(el('line', {x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis'}));
        svg.appendChild(el('line', {x1: L, y1: T, x2: L, y2: H - B, class: 'axis'}));
        svg.appendChild(el('text', {x: 4, y: T + 10, class: 'label'}, String(top)));
        svg.appendChild(el('text', {x: 4, y: H - B, class: 'label'}, '0'));
        svg.appendChild(el('text', {x: W - R - 60, y: H - 8, class: 'label'}, n + ' s'));
        function x(i) { return L + (n <= 1 ? 0 : i * (W - L - R) / (n - 1)); }
        function y(v) { return H - B - v * (H - B - T) / top; }
        series.forEach(function (s, k) {
          const color = colors[k % colors.length];
          svg.appendChild(el('polyline', {points: s.map(function (v, i) { return x(i) + ',' + y(v); }).join(' '),
            fill: 'none', stroke: color, 'stroke-width': 2, class: 'iops-line', 'data-worker': data.workers[k].name}));
          s.forEach(function (v, i) {
            svg.appendChild(el('circle', {cx: x(i), cy: y(v), r: 2.5, fill: color, class: 'iops-point',
              'data-worker': data.workers[k].name, 'data-second': i, 'data-iops': v}));
          });
        });
        document.getElementById('iops-plot').appendChild(svg);
      })();

      // Latency distribution of the aggregate: one bar per power-of-two bucket.
      (function () {
        const W = 760, H = 260, L = 70, B = 40, T = 10, R = 10;
        const b = data.total.latencyBuckets;
        const top = Math.max(1, Math.max.apply(null, b.map(function (x) { return x.count; }).concat([0])));
        const svg = el('svg', {width: W, height: H, id: 'latency-svg', 'data-buckets': b.length});
        svg.appendChild(el('line', {x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis'}));
        svg.appendChild(el('text', {x: 4, y: T + 10, class: 'label'}, String(top)));
        const bw = b.length ? (W - L - R) / b.length : 0;
        b.forEach(function (x, i) {
          const h = x.count * (H - B - T) / top;
          svg.appendChild(el('rect', {x: L + i * bw + 1, y: H - B - h, width: Math.max(1, bw - 2), height: h,
            fill: '#1f77b4', class: 'latency-bar', 'data-from-ns': x.fromNs, 'data-to-ns': x.toNs, 'data-count': x.count}));
          svg.appendChild(el('text', {x: L + i * bw + 2, y: H - B + 14, class: 'label'}, fmtNs(x.fromNs)));
        });
        document.getElementById('latency-plot').appendChild(svg);
      })();
      document.body.setAttribute('data-rendered', 'yes');
    })();
    """#
}
