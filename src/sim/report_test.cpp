// The comparison report in Vietnamese, Chinese and English: every language's texts on the page,
// a switcher, the language shown first chosen by the caller, numbers and the start written as
// each reader writes them, the scenario's and runs' texts escaped.

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include <borderflow/sim/report.h>
#include <borderflow/sim/twin.h>

namespace borderflow::sim {
namespace {

namespace fs = std::filesystem;

Scenario Small() {
  auto s =
      LoadScenario((fs::path(BORDERFLOW_SOURCE_DIR) / "tests/scenarios/sim/small.toml").string());
  EXPECT_TRUE(s) << s.error().ToString();
  return *s;
}

std::vector<TwinResult> Runs() {
  std::vector<TwinResult> runs;
  for (const char* policy : {"fifo", "smart"}) {
    TwinResult r;
    r.policy = policy;
    r.label = std::string(policy) + " · 2 lanes";
    r.days = 2;
    r.trucks_arrived = 12345;
    r.trucks_cleared = 12000;
    r.queue = {QueueSample{0, 1, 2, 0, 0}, QueueSample{24, 5, 2, 0, 0}};
    r.wait_hours.Add(2.5);
    r.wait_hours_by_class["perishable"].Add(2.5);
    r.lanes["VN-CN/fresh_produce"] = 2;
    r.lane_utilisation["VN-CN/fresh_produce"] = 0.5;
    runs.push_back(r);
  }
  runs[1].trucks_refused = 3;
  runs[1].command_errors = 3;
  runs[1].refused_by_code["no_lanes"] = 3;
  return runs;
}

bool Has(const std::string& html, const std::string& text) {
  return html.find(text) != std::string::npos;
}

TEST(Report, EveryLanguageIsOnThePage) {
  Scenario s = Small();
  s.days = 2;
  std::string html = ComparisonHtml(s, Runs(), "borderflow simulate x");
  // Headings, chart titles, axes, legends, table headers and notes in all three languages.
  for (const char* text :
       {// en
        "Key figures", "Trucks waiting (staging yard and road) over time", "wait (hours)",
        "spoiled loads", "mean wait h", "Lane utilisation", "Waits run from a truck's arrival",
        "the engine refused 3 trucks' declarations (no_lanes 3)", "trusted, perishable",
        "First come, first served", "Vietnam → China · Fresh produce", "50% of 2",
        // vi, with its diacritics
        "Số liệu chính", "Xe đang chờ (bãi chờ và trên đường) theo thời gian",
        "thời gian chờ (giờ)", "hàng hư hỏng", "Chờ trung bình (giờ)", "Mức sử dụng làn",
        "Thời gian chờ tính từ lúc xe đến biên giới", "hệ thống đã từ chối tờ khai của 3 xe",
        "ưu tiên, hàng dễ hỏng", "Đến trước, vào trước", "Việt Nam → Trung Quốc · Trái cây tươi",
        "50% của 2 làn", "Ngôn ngữ",
        // zh, Simplified
        "主要指标", "等待车辆（待检区及道路）随时间变化", "等待（小时）", "变质货物",
        "平均等待（小时）", "车道利用率", "等待时间从车辆到达边境", "系统拒绝了 3 辆车的申报",
        "认证企业、易腐货物", "先到先放", "越南 → 中国 · 鲜果", "50%（共 2 条车道）", "语言"}) {
    EXPECT_TRUE(Has(html, text)) << text;
  }
  // Each language's texts are marked for the page's style to show one of them.
  EXPECT_TRUE(Has(html, R"(<h2 class="l-vi" lang="vi">Số liệu chính</h2>)"));
  EXPECT_TRUE(Has(html, R"(<h2 class="l-zh" lang="zh-Hans">主要指标</h2>)"));
  EXPECT_TRUE(Has(html, R"(<h2 class="l-en" lang="en">Key figures</h2>)"));
  EXPECT_TRUE(Has(html, "html:not([data-lang=vi]) .l-vi{display:none}"));
  // The runs' labels: " · 2 lanes" in the reader's words.
  EXPECT_TRUE(Has(html, ">fifo · 2 làn</text>"));
  EXPECT_TRUE(Has(html, ">fifo · 2 条车道</text>"));
  // Numbers: 12,345 and 2.5 (en, zh), 12.345 and 2,5 (vi).
  EXPECT_TRUE(Has(html, R"(<span class="l-en" lang="en">12,345</span>)"));
  EXPECT_TRUE(Has(html, R"(<span class="l-vi" lang="vi">12.345</span>)"));
  EXPECT_TRUE(Has(html, R"(<span class="l-zh" lang="zh-Hans">12,345</span>)"));
  EXPECT_TRUE(Has(html, R"(<span class="l-vi" lang="vi">2,5</span>)"));
  EXPECT_TRUE(Has(html, R"(<span class="l-en" lang="en">2.5</span>)"));
  // The start in the gate's local time, written each reader's way.
  EXPECT_TRUE(Has(html, "2 days from 2026-12-01 00:00 +07:00 (the gate's local time)"));
  EXPECT_TRUE(Has(html, "2 ngày từ 00:00 ngày 01/12/2026 (+07:00, giờ địa phương của cửa khẩu)"));
  EXPECT_TRUE(Has(html, "自 2026年12月1日 00:00（+07:00，口岸当地时间）起共 2 天"));
  // The priority class's id stays on the chart (results.json's name).
  EXPECT_TRUE(Has(html, "<title>trusted_perishable</title>"));
  EXPECT_EQ(std::count(html.begin(), html.end(), '<'), std::count(html.begin(), html.end(), '>'));
}

TEST(Report, TheSwitcherAndTheLanguageShownFirst) {
  Scenario s = Small();
  const auto runs = Runs();
  std::string en = ComparisonHtml(s, runs, "borderflow simulate x");
  EXPECT_TRUE(Has(en, R"(<html lang="en" data-lang="en")")) << en.substr(0, 300);
  EXPECT_TRUE(Has(en, R"(<option value="en" lang="en" selected>English</option>)"));
  EXPECT_TRUE(Has(en, R"(<option value="vi" lang="vi">Tiếng Việt</option>)"));
  EXPECT_TRUE(Has(en, R"(<option value="zh" lang="zh-Hans">中文</option>)"));
  EXPECT_TRUE(Has(en, R"(<select id="bf-lang">)"));
  // The switcher: shown by its script (hidden without one), inline, no network.
  EXPECT_TRUE(Has(en, R"(<p id="bf-switch" hidden>)"));
  EXPECT_TRUE(Has(en, "getElementById('bf-lang')"));
  EXPECT_TRUE(Has(en, "data-lang"));
  EXPECT_EQ(en.find("<script"), en.rfind("<script"));
  EXPECT_FALSE(Has(en, " src="));
  EXPECT_FALSE(Has(en, "<link"));
  EXPECT_TRUE(Has(en, "<title>borderflow digital twin: "));

  std::string vi = ComparisonHtml(s, runs, "borderflow simulate x", "vi");
  EXPECT_TRUE(Has(vi, R"(<html lang="vi" data-lang="vi")"));
  EXPECT_TRUE(Has(vi, R"(<option value="vi" lang="vi" selected>Tiếng Việt</option>)"));
  EXPECT_FALSE(Has(vi, R"(lang="en" selected)"));
  EXPECT_TRUE(Has(vi, "<title>borderflow – bản sao số: "));
  EXPECT_TRUE(Has(vi, R"(data-title-en="borderflow digital twin: )"));

  std::string zh = ComparisonHtml(s, runs, "borderflow simulate x", "zh");
  EXPECT_TRUE(Has(zh, R"(<html lang="zh-Hans" data-lang="zh")"));
  EXPECT_TRUE(Has(zh, R"(<option value="zh" lang="zh-Hans" selected>中文</option>)"));
  EXPECT_TRUE(Has(zh, "<title>borderflow 数字孪生："));
  // The same texts, but the language shown first.
  EXPECT_EQ(en.substr(en.find("</select>")), zh.substr(zh.find("</select>")));

  EXPECT_TRUE(IsReportLanguage("vi") && IsReportLanguage("zh") && IsReportLanguage("en"));
  EXPECT_FALSE(IsReportLanguage("fr") || IsReportLanguage("") || IsReportLanguage("EN") ||
               IsReportLanguage("zh-CN"));
}

TEST(Report, TextsFromTheScenarioAndTheCommandAreEscaped) {
  Scenario s = Small();
  s.name = R"(peak <b>"&"</b>)";
  s.description = "<script>alert(1)</script>";
  auto runs = Runs();
  runs[0].label = "fifo <i>";
  std::string html = ComparisonHtml(s, runs, "borderflow simulate <x> --lang vi", "vi");
  EXPECT_FALSE(Has(html, "<b>"));
  EXPECT_FALSE(Has(html, "<i>"));
  EXPECT_FALSE(Has(html, "<x>"));
  EXPECT_FALSE(Has(html, "alert(1)</script>"));
  EXPECT_TRUE(Has(html, "Bản sao số: peak &lt;b&gt;&quot;&amp;&quot;&lt;/b&gt;"));
  EXPECT_TRUE(Has(html, R"(data-title-zh="borderflow 数字孪生：peak &lt;b&gt;&quot;&amp;&quot;)"));
  EXPECT_TRUE(Has(html, "fifo &lt;i&gt;"));
  EXPECT_TRUE(Has(html, "<code>borderflow simulate &lt;x&gt; --lang vi</code>"));
  EXPECT_EQ(std::count(html.begin(), html.end(), '<'), std::count(html.begin(), html.end(), '>'));
}

}  // namespace
}  // namespace borderflow::sim
