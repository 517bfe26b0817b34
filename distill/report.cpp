#include "distill/report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"

namespace retort {
namespace distill {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string num(double v, int precision) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(precision) << v;
  return os.str();
}

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
};

// A line chart with axes, ticks and a legend.
std::string chart(const std::string& title, const std::string& y_label, const std::vector<Series>& series) {
  const double W = 560, H = 300, left = 56, right = 12, top = 28, bottom = 40;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * (H - top - bottom); };
  std::ostringstream os;
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " "
     << H << "' font-family='sans-serif' font-size='11'>\n";
  os << "<text x='" << W / 2 << "' y='16' text-anchor='middle' font-size='13'>" << esc(title) << "</text>\n";
  os << "<rect x='" << left << "' y='" << top << "' width='" << W - left - right << "' height='" << H - top - bottom
     << "' fill='none' stroke='#999'/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double yv = y0 + (y1 - y0) * i / 4.0, yp = py(yv);
    os << "<line x1='" << left << "' x2='" << W - right << "' y1='" << yp << "' y2='" << yp
       << "' stroke='#eee'/><text x='" << left - 4 << "' y='" << yp + 4 << "' text-anchor='end'>"
       << num(yv, (y1 - y0) < 2 ? 3 : 1) << "</text>\n";
    const double xv = x0 + (x1 - x0) * i / 4.0;
    os << "<text x='" << px(xv) << "' y='" << H - bottom + 14 << "' text-anchor='middle'>" << num(xv, 0)
       << "</text>\n";
  }
  os << "<text x='" << W / 2 << "' y='" << H - 6 << "' text-anchor='middle'>epoch</text>\n";
  os << "<text transform='translate(12," << H / 2 << ") rotate(-90)' text-anchor='middle'>" << esc(y_label)
     << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const char* color = kColors[(k / (series.size() > 1 && series[0].dashed != series[1].dashed ? 2 : 1)) % 8];
    std::ostringstream pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) pts << px(s.x[i]) << "," << py(s.y[i]) << " ";
    os << "<polyline fill='none' stroke='" << color << "' stroke-width='1.6'" << (s.dashed ? " stroke-dasharray='4 3'" : "")
       << " points='" << pts.str() << "'/>\n";
    if (s.x.size() == 1) os << "<circle cx='" << px(s.x[0]) << "' cy='" << py(s.y[0]) << "' r='3' fill='" << color << "'/>\n";
    const double ly = top + 12 + 14 * k;
    os << "<line x1='" << W - right - 170 << "' x2='" << W - right - 150 << "' y1='" << ly - 4 << "' y2='" << ly - 4
       << "' stroke='" << color << "' stroke-width='2'" << (s.dashed ? " stroke-dasharray='4 3'" : "") << "/><text x='"
       << W - right - 146 << "' y='" << ly << "'>" << esc(s.name) << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace

std::string render_report(const std::vector<ReportRun>& runs) {
  std::vector<Series> loss, acc;
  for (const ReportRun& r : runs) {
    Series tr{r.name + " train", {}, {}, false}, te{r.name + " test", {}, {}, true}, top1{r.name, {}, {}, false};
    for (const EpochMetrics& m : r.history) {
      tr.x.push_back(m.epoch), tr.y.push_back(m.train_loss);
      te.x.push_back(m.epoch), te.y.push_back(m.test_loss);
      top1.x.push_back(m.epoch), top1.y.push_back(m.test_top1);
    }
    loss.push_back(tr);
    loss.push_back(te);
    acc.push_back(top1);
  }
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>retort report</title>\n"
     << "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
     << "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}"
     << "td:first-child{text-align:left}pre{background:#f8f8f8;padding:8px;font-size:12px}</style></head><body>\n";
  os << "<h1>retort report</h1>\n";
  os << "<table><tr><th>run</th><th>teacher top-1</th><th>epochs</th><th>last top-1</th><th>best top-1 (epoch)</th>"
     << "<th>last top-5</th><th>last test loss</th><th>images/s</th></tr>\n";
  for (const ReportRun& r : runs) {
    os << "<tr><td>" << esc(r.name) << "</td><td>" << (r.teacher_top1 >= 0 ? num(r.teacher_top1, 2) : "-") << "</td>";
    if (r.history.empty()) {
      os << "<td>0</td><td>-</td><td>-</td><td>-</td><td>-</td><td>-</td></tr>\n";
      continue;
    }
    const EpochMetrics& last = r.history.back();
    double best = -1;
    for (const EpochMetrics& m : r.history)
      if (m.epoch == r.best_epoch) best = m.test_top1;
    os << "<td>" << last.epoch << "</td><td>" << num(last.test_top1, 2) << "</td><td>" << num(best, 2) << " ("
       << r.best_epoch << ")</td><td>" << num(last.test_top5, 2) << "</td><td>" << num(last.test_loss, 4) << "</td><td>"
       << num(last.images_per_second, 0) << "</td></tr>\n";
  }
  os << "</table>\n<p>";
  os << chart("Loss (solid: train, dashed: test)", "loss", loss) << chart("Test top-1", "top-1 %", acc);
  os << "</p>\n";
  for (const ReportRun& r : runs)
    os << "<details><summary>config of " << esc(r.name) << "</summary><pre>" << esc(r.config_yaml)
       << "</pre></details>\n";
  os << "</body></html>\n";
  return os.str();
}

ReportRun read_run(const std::string& run_dir) {
  ReportRun r;
  r.name = run_dir;
  r.config_yaml = read_file(run_dir + "/config.yaml");
  r.history = parse_metrics_jsonl(read_file(run_dir + "/metrics.jsonl"), run_dir + "/metrics.jsonl");
  double best = -1;
  for (const EpochMetrics& m : r.history)
    if (m.test_top1 > best) best = m.test_top1, r.best_epoch = m.epoch;
  const safetensors::Contents c = safetensors::load(run_dir + "/resume.safetensors");
  for (const auto& kv : c.metadata)
    if (kv.first == "teacher_top1") r.teacher_top1 = json::parse(kv.second).as_double();
  return r;
}

}  // namespace distill
}  // namespace retort

