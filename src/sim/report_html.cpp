// The comparison report: one HTML page, no scripts, charts as inline SVG drawn here.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <borderflow/sim/report.h>

namespace borderflow::sim {

namespace {

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The width of `s` in the charts' 12px sans-serif, generously (7px a character; a UTF-8
// character counts once).
double TextWidth(std::string_view s) {
  double chars = 0;
  for (char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 0 : 1;
  return 7 * chars;
}

double WidestLabel(const std::vector<TwinResult>& runs) {
  double w = 0;
  for (const auto& r : runs) w = std::max(w, TextWidth(r.label));
  return w;
}

// A "nice" step for about `target` ticks over [0, max].
double NiceStep(double max, int target) {
  if (max <= 0) return 1;
  double raw = max / target;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

// A chart frame: plot area, y axis from 0 to a nice max with grid lines, axis titles.
struct Frame {
  double width = 860, height = 320;
  double left = 70, right = 170, top = 20, bottom = 50;
  // Room on the right for a legend of labels up to `label_width` wide: the labels used to be
  // cut at about 22 characters ("fifo VN-CN/fresh_produce=2" and "...=12" looked the same).
  void FitLegend(double label_width) {
    double plot = PlotW();
    right = std::max(right, 32 + label_width + 8);
    width = left + plot + right;
  }
  double y_max = 1;
  double PlotW() const { return width - left - right; }
  double PlotH() const { return height - top - bottom; }
  double Y(double v) const { return top + PlotH() * (1 - v / y_max); }

  std::string Begin(const std::string& title, double data_max, const std::string& y_label,
                    const std::string& x_label) {
    double step = NiceStep(data_max, 5);
    y_max = std::max(step, std::ceil(data_max / step) * step);
    std::string s = fmt::format(
        R"(<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" )"
        R"(viewBox="0 0 {} {}" width="{}" height="{}" font-family="sans-serif" font-size="12">)",
        Escape(title), width, height, width, height);
    for (double v = 0; v <= y_max + step / 2; v += step) {
      s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)"
                       R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end">{:g}</text>)",
                       left, Y(v), left + PlotW(), Y(v), left - 6, Y(v) + 4, v);
    }
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#333"/>)"
                     R"(<line x1="{0:.1f}" y1="{2:.1f}" x2="{3:.1f}" y2="{2:.1f}" stroke="#333"/>)",
                     left, top, top + PlotH(), left + PlotW());
    s += fmt::format(
        R"~(<text transform="translate(16,{:.1f}) rotate(-90)" text-anchor="middle">{}</text>)~",
        top + PlotH() / 2, Escape(y_label));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)",
                     left + PlotW() / 2, height - 8, Escape(x_label));
    return s;
  }
  std::string Legend(const std::vector<std::string>& names) const {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) {
      double y = top + 10 + 18 * static_cast<double>(i);
      s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="12" height="12" fill="{}"/>)"
                       R"(<text x="{:.1f}" y="{:.1f}">{}</text>)",
                       left + PlotW() + 14, y - 10, kColours[i % 8], left + PlotW() + 32, y,
                       Escape(names[i]));
    }
    return s;
  }
};

std::string QueueChart(const std::vector<TwinResult>& runs, int days) {
  Frame f;
  f.FitLegend(WidestLabel(runs));
  double max = 1;
  for (const auto& r : runs) {
    for (const auto& q : r.queue) max = std::max(max, static_cast<double>(q.road + q.yard));
  }
  std::string s = f.Begin("Trucks waiting (staging yard and road) over time", max, "trucks waiting",
                          "day of the run");
  double x_max = days * 24.0;
  auto x = [&](double hours) { return f.left + f.PlotW() * hours / x_max; };
  double step = NiceStep(days, 10);
  for (double d = 0; d <= days + 1e-9; d += step) {
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{:g}</text>)", x(d * 24),
                     f.top + f.PlotH() + 16, d);
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string points;
    for (const auto& q : runs[i].queue) {
      points += fmt::format("{:.1f},{:.1f} ", x(q.hours), f.Y(q.road + q.yard));
    }
    s += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>)",
                     kColours[i % 8], points);
    names.push_back(runs[i].label);
  }
  return s + f.Legend(names) + "</svg></figure>\n";
}

// Box plots: per priority class, one box per run (p25–p75, median, whiskers p5–p95, mean dot).
std::string WaitChart(const std::vector<TwinResult>& runs) {
  Frame f;
  f.height = 340;
  f.FitLegend(WidestLabel(runs));
  struct Box {
    double p5, p25, p50, p75, p95, mean;
    int64_t n;
  };
  std::vector<std::vector<Box>> boxes(runs.size());
  double max = 1;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const char* name : kPriorityClassNames) {
      Box b{};
      auto it = runs[i].wait_hours_by_class.find(name);
      if (it != runs[i].wait_hours_by_class.end() && it->second.count() > 0) {
        std::vector<double> v = it->second.values();
        std::sort(v.begin(), v.end());
        b = Box{QuantileOfSorted(v, 0.05),     QuantileOfSorted(v, 0.25), QuantileOfSorted(v, 0.5),
                QuantileOfSorted(v, 0.75),     QuantileOfSorted(v, 0.95), 0,
                static_cast<int64_t>(v.size())};
        double sum = 0;
        for (double x : v) sum += x;
        b.mean = sum / static_cast<double>(v.size());
        max = std::max(max, b.p95);
      }
      boxes[i].push_back(b);
    }
  }
  std::string s = f.Begin(
      "Wait from arrival to call, by priority class (box: 25–75%, whiskers: "
      "5–95%, line: median, dot: mean)",
      max, "wait (hours)", "priority class");
  const size_t classes = std::size(kPriorityClassNames);
  double group = f.PlotW() / static_cast<double>(classes);
  double box_w =
      std::min(40.0, group * 0.8 / static_cast<double>(std::max<size_t>(1, runs.size())));
  for (size_t c = 0; c < classes; ++c) {
    double gx = f.left + group * static_cast<double>(c);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)",
                     gx + group / 2, f.top + f.PlotH() + 16, kPriorityClassNames[c]);
    for (size_t i = 0; i < runs.size(); ++i) {
      const Box& b = boxes[i][c];
      if (b.n == 0) continue;
      double x0 = gx + group * 0.1 + box_w * static_cast<double>(i);
      double xm = x0 + box_w / 2;
      const char* col = kColours[i % 8];
      s += fmt::format(
          R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="{3}"/>)"
          R"(<rect x="{4:.1f}" y="{5:.1f}" width="{6:.1f}" height="{7:.1f}" fill="{3}" )"
          R"(fill-opacity="0.35" stroke="{3}"/>)"
          R"(<line x1="{4:.1f}" y1="{8:.1f}" x2="{9:.1f}" y2="{8:.1f}" stroke="{3}" )"
          R"(stroke-width="2"/><circle cx="{0:.1f}" cy="{10:.1f}" r="2.5" fill="#000"/>)",
          xm, f.Y(b.p95), f.Y(b.p5), col, x0 + 2, f.Y(b.p75), box_w - 4,
          std::max(0.5, f.Y(b.p25) - f.Y(b.p75)), f.Y(b.p50), x0 + box_w - 2, f.Y(b.mean));
    }
  }
  std::vector<std::string> names;
  for (const auto& r : runs) names.push_back(r.label);
  return s + f.Legend(names) + "</svg></figure>\n";
}

std::string SpoiledChart(const std::vector<TwinResult>& runs) {
  Frame f;
  double max = 1;
  for (const auto& r : runs) {
    max = std::max({max, static_cast<double>(r.spoiled_perishables),
                    static_cast<double>(r.expired_declarations)});
  }
  // Run labels wider than their group are turned (they used to overlap into one line).
  double group = f.PlotW() / static_cast<double>(std::max<size_t>(1, runs.size()));
  const double widest = WidestLabel(runs);
  const bool turned = widest > group * 0.9;
  if (turned) {
    f.bottom += widest * 0.5;  // sin 30°
    f.height += widest * 0.5;
  }
  std::string s =
      f.Begin("Spoiled perishable loads and expired declarations", max, "trucks", "run");
  double bar = std::min(50.0, group * 0.35);
  for (size_t i = 0; i < runs.size(); ++i) {
    double gx = f.left + group * static_cast<double>(i) + group / 2;
    auto draw = [&](double x, double v, const char* col) {
      s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>)"
                       R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{:g}</text>)",
                       x, f.Y(v), bar, f.Y(0) - f.Y(v), col, x + bar / 2, f.Y(v) - 4, v);
    };
    draw(gx - bar, static_cast<double>(runs[i].spoiled_perishables), "#d62728");
    draw(gx, static_cast<double>(runs[i].expired_declarations), "#7f7f7f");
    const double ly = f.top + f.PlotH() + 16;
    if (turned) {
      s += fmt::format(R"~(<text x="{0:.1f}" y="{1:.1f}" text-anchor="end" )~"
                       R"~(transform="rotate(-30 {0:.1f} {1:.1f})">{2}</text>)~",
                       gx + 4, ly, Escape(runs[i].label));
    } else {
      s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", gx, ly,
                       Escape(runs[i].label));
    }
  }
  s += fmt::format(R"(<rect x="{0:.1f}" y="{1:.1f}" width="12" height="12" fill="#d62728"/>)"
                   R"(<text x="{2:.1f}" y="{3:.1f}">spoiled loads</text>)"
                   R"(<rect x="{0:.1f}" y="{4:.1f}" width="12" height="12" fill="#7f7f7f"/>)"
                   R"(<text x="{2:.1f}" y="{5:.1f}">expired declarations</text>)",
                   f.left + f.PlotW() + 14, f.top, f.left + f.PlotW() + 32, f.top + 10, f.top + 18,
                   f.top + 28);
  return s + "</svg></figure>\n";
}

struct Row {
  std::string label;
  std::vector<std::string> cells;
};

std::vector<std::string> Header() {
  return {"run",
          "arrived",
          "cleared",
          "cleared/day",
          "mean wait h",
          "p95 wait h",
          "max wait h",
          "perishable mean h",
          "regular mean h",
          "spoiled",
          "expired decl.",
          "waiting at end",
          "refused",
          "pred. error mean h",
          "pred. error p90 h",
          "commands",
          "events"};
}

std::vector<std::string> Cells(const TwinResult& r) {
  Summary all = r.wait_hours.Summarize();
  auto mean_of = [&](const char* name) {
    auto it = r.wait_hours_by_class.find(name);
    return it == r.wait_hours_by_class.end() ? 0.0 : it->second.Summarize().mean;
  };
  Summary pred = r.prediction_abs_error_hours.Summarize();
  return {r.label,
          fmt::format("{}", r.trucks_arrived),
          fmt::format("{}", r.trucks_cleared),
          fmt::format("{:.0f}", r.days ? static_cast<double>(r.trucks_cleared) / r.days : 0.0),
          fmt::format("{:.1f}", all.mean),
          fmt::format("{:.1f}", all.p95),
          fmt::format("{:.1f}", all.max),
          fmt::format("{:.1f}", mean_of("perishable")),
          fmt::format("{:.1f}", mean_of("regular")),
          fmt::format("{}", r.spoiled_perishables),
          fmt::format("{}", r.expired_declarations),
          fmt::format("{}", r.waiting_at_end),
          fmt::format("{}", r.trucks_refused),
          fmt::format("{:.2f}", pred.mean),
          fmt::format("{:.2f}", pred.p90),
          fmt::format("{}", r.engine_commands),
          fmt::format("{}", r.events_processed)};
}

// "2026-12-01 00:00 +07:00 (the gate's local time)": the start as the gate's clocks show it.
std::string GateLocal(const Scenario& scenario) {
  std::string local = FormatLocal(scenario.start, scenario.gate.self.utc_offset);
  // "2026-12-01T00:00:00+07:00" (or with milliseconds)
  return fmt::format("{} {} {} (the gate's local time)", local.substr(0, 10), local.substr(11, 5),
                     FormatOffset(scenario.gate.self.utc_offset));
}

}  // namespace

std::string ComparisonMarkdown(const std::vector<TwinResult>& runs) {
  std::vector<std::string> h = Header();
  std::string s = "| " + fmt::format("{}", fmt::join(h, " | ")) + " |\n|";
  for (size_t i = 0; i < h.size(); ++i) s += i == 0 ? "---|" : "---:|";
  s += "\n";
  for (const auto& r : runs) s += "| " + fmt::format("{}", fmt::join(Cells(r), " | ")) + " |\n";
  return s;
}

std::string ComparisonHtml(const Scenario& scenario, const std::vector<TwinResult>& runs,
                           const std::string& command) {
  std::string s = fmt::format(
      R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
      R"(<title>borderflow digital twin: {0}</title><style>)"
      R"(body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}})"
      R"(table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;)"
      R"(padding:3px 6px;text-align:right}}td:first-child,th:first-child{{text-align:left}})"
      R"(figure{{margin:1.5em 0}}figcaption{{font-weight:bold;margin-bottom:4px}})"
      R"(code{{background:#f4f4f4;padding:2px 4px}}</style></head><body>)"
      R"(<h1>Digital twin: {0}</h1><p>{1}</p><p>Made with <code>{2}</code></p>)"
      R"(<p>{3} days from {4}; every run sees the same seeded arrivals (seed {5}).</p>)",
      Escape(scenario.name), Escape(scenario.description), Escape(command), scenario.days,
      Escape(GateLocal(scenario)), runs.empty() ? 0 : runs.front().seed);
  // Trucks the engine refused, and other refused commands, where nobody can miss them.
  for (const auto& r : runs) {
    if (r.trucks_refused > 0) {
      std::string codes;
      for (const auto& [code, n] : r.refused_by_code) {
        codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, n);
      }
      s += fmt::format(
          R"(<p style="background:#fde2e1;padding:6px"><strong>{}: the engine refused {} )"
          R"(trucks' declarations ({}).</strong> They count as arrived, are never served, and )"
          R"(wait at the border (waiting at end), unless their load spoils first.</p>)",
          Escape(r.label), r.trucks_refused, Escape(codes));
    }
    if (r.command_errors > r.trucks_refused) {
      s += fmt::format(
          R"(<p style="background:#fde2e1;padding:6px"><strong>{}: the engine refused {} )"
          R"(other commands</strong> (see errors_by_code in results.json): this run does not )"
          R"(model the scenario faithfully.</p>)",
          Escape(r.label), r.command_errors - r.trucks_refused);
    }
  }
  s += "<h2>Key figures</h2><table><tr>";
  for (const auto& h : Header()) s += "<th>" + Escape(h) + "</th>";
  s += "</tr>";
  for (const auto& r : runs) {
    s += "<tr>";
    for (const auto& c : Cells(r)) s += "<td>" + Escape(c) + "</td>";
    s += "</tr>";
  }
  s += "</table><p>Waits run from a truck's arrival at the border (on the road when the staging "
       "yard is full) to its call forward, for trucks called during the run; trucks still "
       "waiting at the end are counted under <em>waiting at end</em>. A perishable load spoils "
       "when its freshness deadline passes before release; one not yet called leaves the "
       "queue.</p>";
  s += "<h2>Queue length</h2>" + QueueChart(runs, scenario.days);
  s += "<h2>Waits per class</h2>" + WaitChart(runs);
  s += "<h2>Spoiled loads</h2>" + SpoiledChart(runs);
  s += "<h2>Lane utilisation</h2><table><tr><th>lane</th>";
  for (const auto& r : runs) s += "<th>" + Escape(r.label) + "</th>";
  s += "</tr>";
  if (!runs.empty()) {
    for (const auto& [lane, unused] : runs.front().lane_utilisation) {
      s += "<tr><td>" + Escape(lane) + "</td>";
      for (const auto& r : runs) {
        auto it = r.lane_utilisation.find(lane);
        auto lanes = r.lanes.find(lane);
        s += fmt::format("<td>{:.0f}% of {}</td>",
                         it == r.lane_utilisation.end() ? 0.0 : it->second * 100,
                         lanes == r.lanes.end() ? 0 : lanes->second);
      }
      s += "</tr>";
    }
  }
  s += "</table></body></html>\n";
  return s;
}

}  // namespace borderflow::sim
