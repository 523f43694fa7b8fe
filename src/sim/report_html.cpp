// The comparison report: one HTML page, charts as inline SVG drawn here, every text in
// Vietnamese, Chinese and English (src/sim/report_text.h) with a switcher: a small inline script
// that shows one language (CSS hides the others), so the page works opened from disk.

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include <borderflow/sim/report.h>

#include "report_text.h"

namespace borderflow::sim {

namespace {

using report_text::Tri;

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

// The languages: their codes, the HTML lang attribute's and the switcher's names (LANGS in
// web/src/i18n.js). Index 0 en, 1 vi, 2 zh, as Tri's members.
constexpr int kLangs = 3;
constexpr const char* kCode[kLangs] = {"en", "vi", "zh"};
constexpr const char* kHtmlLang[kLangs] = {"en", "vi", "zh-Hans"};
constexpr const char* kLangName[kLangs] = {"English", "Tiếng Việt", "中文"};

const std::string& In(const Tri& t, int lang) { return lang == 0 ? t.en : lang == 1 ? t.vi : t.zh; }
std::string& In(Tri& t, int lang) { return lang == 0 ? t.en : lang == 1 ? t.vi : t.zh; }
bool Same(const Tri& t) { return t.en == t.vi && t.en == t.zh; }
Tri All(std::string s) { return Tri{s, s, s}; }

// A format argument in language `lang`: a Tri's text in that language, anything else as is.
const std::string& Arg(const Tri& t, int lang) { return In(t, lang); }
template <typename T>
const T& Arg(const T& v, int) {
  return v;
}

// `pattern` in every language with `args` (Tri or plain values).
template <typename... A>
Tri Fmt(const Tri& pattern, const A&... args) {
  Tri out;
  for (int l = 0; l < kLangs; ++l) {
    In(out, l) = fmt::format(fmt::runtime(In(pattern, l)), Arg(args, l)...);
  }
  return out;
}

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
Tri Escape(const Tri& t) { return Tri{Escape(t.en), Escape(t.vi), Escape(t.zh)}; }

// Markup `html` (escaped already) in every language: one `tag` element per language, marked
// with its class and lang (the page's style shows the chosen one's), or one element without a
// class when the languages' texts are the same. `attrs` start with a space.
std::string Each(std::string_view tag, std::string_view attrs, const Tri& html) {
  if (Same(html)) return fmt::format("<{0}{1}>{2}</{0}>", tag, attrs, html.en);
  std::string s;
  for (int l = 0; l < kLangs; ++l) {
    s += fmt::format(R"(<{0}{1} class="l-{2}" lang="{3}">{4}</{0}>)", tag, attrs, kCode[l],
                     kHtmlLang[l], In(html, l));
  }
  return s;
}
// Inline text: the escaped text itself when the languages agree, else a span each.
std::string Inline(const Tri& text) {
  Tri html = Escape(text);
  return Same(html) ? html.en : Each("span", "", html);
}
// SVG text at `attrs` (` x="..." y="..."`).
std::string SvgText(std::string_view attrs, const Tri& text) {
  return Each("text", attrs, Escape(text));
}

// Numbers as the reader writes them: "12,345.6" (en, zh), "12.345,6" (vi; 'portal.weightHint'
// is "Tối đa 100.000 kg").
Tri Num(double v, int decimals) {
  std::string plain = fmt::format("{:.{}f}", v, decimals);
  if (plain.find_first_not_of("-0.") == std::string::npos && plain[0] == '-') plain.erase(0, 1);
  size_t dot = plain.find('.');
  std::string whole = plain.substr(0, dot),
              fraction = dot == std::string::npos ? "" : plain.substr(dot + 1);
  bool negative = !whole.empty() && whole[0] == '-';
  if (negative) whole.erase(0, 1);
  Tri out;
  for (int l = 0; l < kLangs; ++l) {
    const char group = l == 1 ? '.' : ',';
    const char point = l == 1 ? ',' : '.';
    std::string s;
    for (size_t i = 0; i < whole.size(); ++i) {
      if (i > 0 && (whole.size() - i) % 3 == 0) s += group;
      s += whole[i];
    }
    if (!fraction.empty()) s += point + fraction;
    In(out, l) = (negative ? "-" : "") + s;
  }
  return out;
}
Tri Int(int64_t v) { return Num(static_cast<double>(v), 0); }
// An axis tick: at most 3 decimals, no trailing zeros (2.5, 10, 0.1).
Tri Tick(double v) {
  int decimals = 0;
  while (decimals < 3 &&
         std::abs(v * std::pow(10, decimals) - std::round(v * std::pow(10, decimals))) > 1e-6) {
    ++decimals;
  }
  return Num(v, decimals);
}

// A web app term by id (report_text.h), or the id itself.
Tri Named(const std::map<std::string, Tri>& names, const std::string& id) {
  auto it = names.find(id);
  return it == names.end() ? All(id) : it->second;
}

// A run's label: " · N lanes" at its end (one lane class varies) in each language; the rest
// (policy ids, "VN-CN/fresh_produce 2") as the command line names them.
Tri RunLabel(const std::string& label) {
  static constexpr std::string_view kLanes = " lanes", kLane = " lane", kDot = " · ";
  for (std::string_view unit : {kLanes, kLane}) {
    if (label.size() <= unit.size() || !label.ends_with(unit)) continue;
    size_t end = label.size() - unit.size();
    size_t begin = end;
    while (begin > 0 && label[begin - 1] >= '0' && label[begin - 1] <= '9') --begin;
    if (begin == end || begin < kDot.size() ||
        label.compare(begin - kDot.size(), kDot.size(), kDot) != 0) {
      break;
    }
    std::string n = label.substr(begin, end - begin);
    std::string policy = label.substr(0, begin - kDot.size());
    Tri suffix = Fmt(unit == kLanes ? report_text::kLanesSuffix : report_text::kLaneSuffix, n);
    return Tri{policy + suffix.en, policy + suffix.vi, policy + suffix.zh};
  }
  return All(label);
}

// "VN-CN/fresh_produce": "Vietnam → China · Fresh produce".
Tri LaneName(const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return All(key);
  std::string direction = key.substr(0, slash);
  size_t dash = direction.find('-');
  Tri dir = All(direction);
  if (dash != std::string::npos) {
    const auto& countries = report_text::CountryNames();
    auto from = countries.find(direction.substr(0, dash));
    auto to = countries.find(direction.substr(dash + 1));
    if (from != countries.end() && to != countries.end()) {
      dir = Fmt(report_text::kDirectionName, from->second, to->second);
    }
  }
  return Fmt(report_text::kLaneName, dir,
             Named(report_text::LaneClassNames(), key.substr(slash + 1)));
}

// The width of `s` in the charts' 12px sans-serif, generously: 7px a character, 12px a CJK one
// (a UTF-8 character counts once).
double TextWidth(std::string_view s) {
  double w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) == 0x80) continue;
    uint32_t cp = b;
    if ((b & 0xF0) == 0xE0 && i + 2 < s.size()) {
      cp = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    } else if ((b & 0xF8) == 0xF0) {
      cp = 0x10000;
    }
    w += cp >= 0x2E80 ? 12 : 7;
  }
  return w;
}
double TextWidth(const Tri& t) {
  return std::max({TextWidth(t.en), TextWidth(t.vi), TextWidth(t.zh)});
}

double WidestLabel(const std::vector<TwinResult>& runs) {
  double w = 0;
  for (const auto& r : runs) w = std::max(w, TextWidth(RunLabel(r.label)));
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

  std::string Begin(const Tri& title, double data_max, const Tri& y_label, const Tri& x_label) {
    double step = NiceStep(data_max, 5);
    y_max = std::max(step, std::ceil(data_max / step) * step);
    std::string s = fmt::format(
        R"(<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" )"
        R"(viewBox="0 0 {} {}" width="{}" height="{}" font-family="sans-serif" font-size="12">)",
        Inline(title), width, height, width, height);
    for (double v = 0; v <= y_max + step / 2; v += step) {
      s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)",
                       left, Y(v), left + PlotW(), Y(v));
      s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="end")", left - 6, Y(v) + 4),
                   Tick(v));
    }
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#333"/>)"
                     R"(<line x1="{0:.1f}" y1="{2:.1f}" x2="{3:.1f}" y2="{2:.1f}" stroke="#333"/>)",
                     left, top, top + PlotH(), left + PlotW());
    s += SvgText(
        fmt::format(R"~( transform="translate(16,{:.1f}) rotate(-90)" text-anchor="middle")~",
                    top + PlotH() / 2),
        y_label);
    s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="middle")", left + PlotW() / 2,
                             height - 8),
                 x_label);
    return s;
  }
  std::string Legend(const std::vector<Tri>& names) const {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) {
      double y = top + 10 + 18 * static_cast<double>(i);
      s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="12" height="12" fill="{}"/>)",
                       left + PlotW() + 14, y - 10, kColours[i % 8]);
      s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}")", left + PlotW() + 32, y), names[i]);
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
  std::string s =
      f.Begin(report_text::kQueueTitle, max, report_text::kQueueY, report_text::kQueueX);
  double x_max = days * 24.0;
  auto x = [&](double hours) { return f.left + f.PlotW() * hours / x_max; };
  double step = NiceStep(days, 10);
  for (double d = 0; d <= days + 1e-9; d += step) {
    s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="middle")", x(d * 24),
                             f.top + f.PlotH() + 16),
                 Tick(d));
  }
  std::vector<Tri> names;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string points;
    for (const auto& q : runs[i].queue) {
      points += fmt::format("{:.1f},{:.1f} ", x(q.hours), f.Y(q.road + q.yard));
    }
    s += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>)",
                     kColours[i % 8], points);
    names.push_back(RunLabel(runs[i].label));
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
  std::string s = f.Begin(report_text::kWaitTitle, max, report_text::kWaitY, report_text::kWaitX);
  const size_t classes = std::size(kPriorityClassNames);
  double group = f.PlotW() / static_cast<double>(classes);
  double box_w =
      std::min(40.0, group * 0.8 / static_cast<double>(std::max<size_t>(1, runs.size())));
  for (size_t c = 0; c < classes; ++c) {
    double gx = f.left + group * static_cast<double>(c);
    // The class in the reader's words; its id (results.json's) as the tooltip.
    s += fmt::format("<g><title>{}</title>", kPriorityClassNames[c]) +
         SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="middle")", gx + group / 2,
                             f.top + f.PlotH() + 16),
                 Named(report_text::PriorityNames(), kPriorityClassNames[c])) +
         "</g>";
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
  std::vector<Tri> names;
  for (const auto& r : runs) names.push_back(RunLabel(r.label));
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
      f.Begin(report_text::kSpoiledTitle, max, report_text::kSpoiledY, report_text::kSpoiledX);
  double bar = std::min(50.0, group * 0.35);
  for (size_t i = 0; i < runs.size(); ++i) {
    double gx = f.left + group * static_cast<double>(i) + group / 2;
    auto draw = [&](double x, int64_t v, const char* col) {
      double y = f.Y(static_cast<double>(v));
      s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>)",
                       x, y, bar, f.Y(0) - y, col);
      s +=
          SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="middle")", x + bar / 2, y - 4),
                  Int(v));
    };
    draw(gx - bar, runs[i].spoiled_perishables, "#d62728");
    draw(gx, runs[i].expired_declarations, "#7f7f7f");
    const double ly = f.top + f.PlotH() + 16;
    if (turned) {
      s += SvgText(fmt::format(R"~( x="{0:.1f}" y="{1:.1f}" text-anchor="end" )~"
                               R"~(transform="rotate(-30 {0:.1f} {1:.1f})")~",
                               gx + 4, ly),
                   RunLabel(runs[i].label));
    } else {
      s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}" text-anchor="middle")", gx, ly),
                   RunLabel(runs[i].label));
    }
  }
  const double lx = f.left + f.PlotW() + 14;
  s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="12" height="12" fill="#d62728"/>)", lx,
                   f.top);
  s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}")", lx + 18, f.top + 10),
               report_text::kSpoiledLegend);
  s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="12" height="12" fill="#7f7f7f"/>)", lx,
                   f.top + 18);
  s += SvgText(fmt::format(R"( x="{:.1f}" y="{:.1f}")", lx + 18, f.top + 28),
               report_text::kExpiredLegend);
  return s + "</svg></figure>\n";
}

// The key figures' column names in English (summary.md's).
std::vector<std::string> Header() {
  std::vector<std::string> h;
  for (const Tri& c : report_text::kColumns) h.push_back(c.en);
  return h;
}

// A run's key figures as numbers: `decimals` each (summary.md's cells, the page's in each
// language's notation).
struct Figure {
  double value;
  int decimals;
};
std::vector<Figure> Figures(const TwinResult& r) {
  Summary all = r.wait_hours.Summarize();
  auto mean_of = [&](const char* name) {
    auto it = r.wait_hours_by_class.find(name);
    return it == r.wait_hours_by_class.end() ? 0.0 : it->second.Summarize().mean;
  };
  auto count = [](int64_t n) { return Figure{static_cast<double>(n), 0}; };
  Summary pred = r.prediction_abs_error_hours.Summarize();
  return {count(r.trucks_arrived),
          count(r.trucks_cleared),
          {r.days ? static_cast<double>(r.trucks_cleared) / r.days : 0.0, 0},
          {all.mean, 1},
          {all.p95, 1},
          {all.max, 1},
          {mean_of("perishable"), 1},
          {mean_of("regular"), 1},
          count(r.spoiled_perishables),
          count(r.expired_declarations),
          count(r.waiting_at_end),
          count(r.trucks_refused),
          {pred.mean, 2},
          {pred.p90, 2},
          count(r.engine_commands),
          Figure{static_cast<double>(r.events_processed), 0}};
}

std::vector<std::string> Cells(const TwinResult& r) {
  std::vector<std::string> cells = {r.label};
  for (const Figure& f : Figures(r)) cells.push_back(fmt::format("{:.{}f}", f.value, f.decimals));
  return cells;
}

// The start as the gate's clocks show it ("2026-12-01 00:00 +07:00 (the gate's local time)").
Tri GateLocal(const Scenario& scenario) {
  // "2026-12-01T00:00:00+07:00" (or with milliseconds)
  std::string local = FormatLocal(scenario.start, scenario.gate.self.utc_offset);
  std::string year = local.substr(0, 4), month = local.substr(5, 2), day = local.substr(8, 2);
  Tri out = Fmt(report_text::kStart, year, month, day, local.substr(11, 5),
                FormatOffset(scenario.gate.self.utc_offset));
  // Chinese dates have no leading zeros: 2026年12月1日.
  auto strip = [](const std::string& s) { return s[0] == '0' ? s.substr(1) : s; };
  out.zh = fmt::format(fmt::runtime(report_text::kStart.zh), year, strip(month), strip(day),
                       local.substr(11, 5), FormatOffset(scenario.gate.self.utc_offset));
  return out;
}

// Chooses the language shown first: `lang` set on <html>, then (the switcher) the one in the
// address's "#lang=xx". No '<' or '>' in it: the page's tags stay countable.
constexpr const char* kSwitchScript =
    "(function(){var d=document.documentElement,s=document.getElementById('bf-lang'),"
    "h={en:'en',vi:'vi',zh:'zh-Hans'};"
    "function use(l,keep){if(!h.hasOwnProperty(l))return;d.setAttribute('data-lang',l);"
    "d.lang=h[l];s.value=l;document.title=d.getAttribute('data-title-'+l);"
    "if(keep){try{history.replaceState(null,'','#lang='+l)}catch(e){}}}"
    "var m=/^#lang=(en|vi|zh)$/.exec(location.hash);if(m)use(m[1],false);"
    "s.onchange=function(){use(s.value,true)};"
    "document.getElementById('bf-switch').hidden=false;})();";

}  // namespace

bool IsReportLanguage(std::string_view lang) {
  return std::find(std::begin(kReportLanguages), std::end(kReportLanguages), lang) !=
         std::end(kReportLanguages);
}

std::string ComparisonMarkdown(const std::vector<TwinResult>& runs) {
  std::vector<std::string> h = Header();
  std::string s = "| " + fmt::format("{}", fmt::join(h, " | ")) + " |\n|";
  for (size_t i = 0; i < h.size(); ++i) s += i == 0 ? "---|" : "---:|";
  s += "\n";
  for (const auto& r : runs) s += "| " + fmt::format("{}", fmt::join(Cells(r), " | ")) + " |\n";
  return s;
}

std::string ComparisonHtml(const Scenario& scenario, const std::vector<TwinResult>& runs,
                           const std::string& command, std::string_view lang) {
  int first = 0;
  for (int l = 0; l < kLangs; ++l) {
    if (lang == kCode[l]) first = l;
  }
  Tri title = Fmt(report_text::kTitle, scenario.name);
  std::string s = fmt::format(R"(<!DOCTYPE html><html lang="{}" data-lang="{}")", kHtmlLang[first],
                              kCode[first]);
  for (int l = 0; l < kLangs; ++l) {
    s += fmt::format(R"( data-title-{}="{}")", kCode[l], Escape(In(title, l)));
  }
  s += R"(><head><meta charset="utf-8"><title>)" + Escape(In(title, first)) + "</title><style>";
  s += "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
       "padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
       "td:first-child{white-space:nowrap}"
       "figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:4px}"
       "code{background:#f4f4f4;padding:2px 4px}#bf-switch{float:right;margin:0}";
  // Only the chosen language's texts show.
  for (int l = 0; l < kLangs; ++l) {
    s += fmt::format("html:not([data-lang={0}]) .l-{0}{{display:none}}", kCode[l]);
  }
  s += "</style></head><body>";
  s += R"(<p id="bf-switch" hidden><label for="bf-lang">)" + Inline(report_text::kLanguage) +
       R"(</label> <select id="bf-lang">)";
  for (int l : {1, 2, 0}) {  // vi, zh, en: the web app's order
    s += fmt::format(R"(<option value="{}" lang="{}"{}>{}</option>)", kCode[l], kHtmlLang[l],
                     l == first ? " selected" : "", kLangName[l]);
  }
  s += "</select></p>";
  s += Each("h1", "", Escape(Fmt(report_text::kHeading, scenario.name)));
  s += "<p>" + Escape(scenario.description) + "</p>";
  s += Each("p", "", Fmt(report_text::kMadeWith, Escape(command)));
  s += Each(
      "p", "",
      Escape(Fmt(scenario.days == 1 ? report_text::kDaysFromOne : report_text::kDaysFrom,
                 Int(scenario.days), GateLocal(scenario), runs.empty() ? 0 : runs.front().seed)));
  // The runs' policies in the web app's words.
  std::set<std::string> seen;
  Tri policies = report_text::kPolicies;
  bool any = false;
  for (const auto& r : runs) {
    auto it = report_text::PolicyNames().find(r.policy);
    if (it == report_text::PolicyNames().end() || !seen.insert(r.policy).second) continue;
    Tri item = Fmt(report_text::kPolicyItem, r.policy, it->second);
    for (int l = 0; l < kLangs; ++l) {
      In(policies, l) +=
          (any ? In(report_text::kListSeparator, l) : std::string(l == 2 ? "：" : ": ")) +
          In(item, l);
    }
    any = true;
  }
  if (any) s += Each("p", "", Escape(policies));
  // Trucks the engine refused, and other refused commands, where nobody can miss them.
  for (const auto& r : runs) {
    if (r.trucks_refused > 0) {
      std::string codes;
      for (const auto& [code, n] : r.refused_by_code) {
        codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, n);
      }
      s += Each("p", R"( style="background:#fde2e1;padding:6px")",
                Fmt(report_text::kRefusedTrucks, Escape(RunLabel(r.label)), Int(r.trucks_refused),
                    Escape(codes)));
    }
    if (r.command_errors > r.trucks_refused) {
      s += Each("p", R"( style="background:#fde2e1;padding:6px")",
                Fmt(report_text::kRefusedCommands, Escape(RunLabel(r.label)),
                    Int(r.command_errors - r.trucks_refused)));
    }
  }
  s += Each("h2", "", Escape(report_text::kKeyFigures)) + "<table><tr>";
  for (const Tri& h : report_text::kColumns) s += "<th>" + Inline(h) + "</th>";
  s += "</tr>";
  for (const auto& r : runs) {
    s += "<tr><td>" + Inline(RunLabel(r.label)) + "</td>";
    for (const Figure& f : Figures(r)) s += "<td>" + Inline(Num(f.value, f.decimals)) + "</td>";
    s += "</tr>";
  }
  s += "</table>" + Each("p", "", report_text::kWaitNote);
  s += Each("h2", "", Escape(report_text::kQueueLength)) + QueueChart(runs, scenario.days);
  s += Each("h2", "", Escape(report_text::kWaitsPerClass)) + WaitChart(runs);
  s += Each("h2", "", Escape(report_text::kSpoiledLoads)) + SpoiledChart(runs);
  s += Each("h2", "", Escape(report_text::kLaneUtilisation)) + "<table><tr><th>" +
       Inline(report_text::kLaneColumn) + "</th>";
  for (const auto& r : runs) s += "<th>" + Inline(RunLabel(r.label)) + "</th>";
  s += "</tr>";
  if (!runs.empty()) {
    for (const auto& [lane, unused] : runs.front().lane_utilisation) {
      s += fmt::format(R"(<tr><td title="{}">)", Escape(lane)) + Inline(LaneName(lane)) + "</td>";
      for (const auto& r : runs) {
        auto it = r.lane_utilisation.find(lane);
        auto lanes = r.lanes.find(lane);
        s += "<td>" +
             Inline(Fmt(report_text::kUtilisation,
                        Num(it == r.lane_utilisation.end() ? 0.0 : it->second * 100, 0),
                        Int(lanes == r.lanes.end() ? 0 : lanes->second))) +
             "</td>";
      }
      s += "</tr>";
    }
  }
  s += "</table><script>" + std::string(kSwitchScript) + "</script></body></html>\n";
  return s;
}

}  // namespace borderflow::sim
