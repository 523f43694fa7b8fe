#pragma once

// The comparison report's words in its three languages (src/sim/report_html.cpp). The terms the
// web app also shows (priority classes, policies, lane classes, countries, "Language"...) are
// the web app's (web/src/i18n/*.js: the key is named beside each), so a gate's staff read the
// same words in both. Patterns are fmt format strings; those marked HTML hold markup and get
// escaped arguments.

#include <map>
#include <string>

namespace borderflow::sim::report_text {

// One text in English, Vietnamese and Simplified Chinese.
struct Tri {
  std::string en, vi, zh;
};

// --- The page.
// The page's title and heading; {0} is the scenario's name.
inline const Tri kTitle = {"borderflow digital twin: {0}", "borderflow – bản sao số: {0}",
                           "borderflow 数字孪生：{0}"};
inline const Tri kHeading = {"Digital twin: {0}", "Bản sao số: {0}", "数字孪生：{0}"};
// HTML: {0} is the command line.
inline const Tri kMadeWith = {"Made with <code>{0}</code>", "Tạo bằng lệnh <code>{0}</code>",
                              "生成命令：<code>{0}</code>"};
// {0} the number of days, {1} the start in the gate's local time, {2} the seed.
inline const Tri kDaysFromOne = {
    "{0} day from {1}; every run sees the same seeded arrivals (seed {2}).",
    "{0} ngày từ {1}; mọi lần chạy đều có cùng dòng xe đến ngẫu nhiên (seed {2}).",
    "自 {1}起共 {0} 天；所有运行使用同一组随机到达车辆（种子 {2}）。"};
inline const Tri kDaysFrom = {
    "{0} days from {1}; every run sees the same seeded arrivals (seed {2}).",
    "{0} ngày từ {1}; mọi lần chạy đều có cùng dòng xe đến ngẫu nhiên (seed {2}).",
    "自 {1}起共 {0} 天；所有运行使用同一组随机到达车辆（种子 {2}）。"};
// The start as the gate's clocks show it: {0} year, {1} month, {2} day (two digits each but the
// year; zh drops the zeros), {3} "HH:MM", {4} the UTC offset "+07:00". board.localTime.
inline const Tri kStart = {"{0}-{1}-{2} {3} {4} (the gate's local time)",
                           "{3} ngày {2}/{1}/{0} ({4}, giờ địa phương của cửa khẩu)",
                           "{0}年{1}月{2}日 {3}（{4}，口岸当地时间）"};
// The policies of the runs, named as the web app's control room does (control.policy).
inline const Tri kPolicies = {"Queue policies", "Cách gọi xe", "叫号策略"};
// "fifo: First come, first served" (policy.*).
inline const Tri kPolicyItem = {"{0}: {1}", "{0}: {1}", "{0}：{1}"};
inline const Tri kListSeparator = {"; ", "; ", "；"};
// The language switcher (nav.language).
inline const Tri kLanguage = {"Language", "Ngôn ngữ", "语言"};

// HTML: {0} the run's label, {1} trucks refused, {2} "code n, ...".
inline const Tri kRefusedTrucks = {
    "<strong>{0}: the engine refused {1} trucks' declarations ({2}).</strong> They count as "
    "arrived, are never served, and wait at the border (waiting at end), unless their load "
    "spoils first.",
    "<strong>{0}: hệ thống đã từ chối tờ khai của {1} xe ({2}).</strong> Các xe này được tính "
    "là đã đến, không bao giờ được gọi vào và phải chờ ở biên giới (còn chờ khi kết thúc), trừ "
    "khi hàng bị hư hỏng trước.",
    "<strong>{0}：系统拒绝了 {1} 辆车的申报（{2}）。</strong>这些车辆计为已到达，不会被叫号，"
    "一直在边境等待（计入“结束时仍在等待”），除非货物先变质。"};
// HTML: {0} the run's label, {1} commands refused.
inline const Tri kRefusedCommands = {
    "<strong>{0}: the engine refused {1} other commands</strong> (see errors_by_code in "
    "results.json): this run does not model the scenario faithfully.",
    "<strong>{0}: hệ thống đã từ chối {1} lệnh khác</strong> (xem errors_by_code trong "
    "results.json): lần chạy này không mô phỏng đúng kịch bản.",
    "<strong>{0}：系统另外拒绝了 {1} 条命令</strong>（见 results.json 中的 errors_by_code）："
    "本次运行未能如实模拟该场景。"};

// --- Sections.
inline const Tri kKeyFigures = {"Key figures", "Số liệu chính", "主要指标"};
// HTML.
inline const Tri kWaitNote = {
    "Waits run from a truck's arrival at the border (on the road when the staging yard is full) "
    "to its call forward, for trucks called during the run; trucks still waiting at the end are "
    "counted under <em>waiting at end</em>. A perishable load spoils when its freshness deadline "
    "passes before release; one not yet called leaves the queue.",
    "Thời gian chờ tính từ lúc xe đến biên giới (chờ trên đường khi bãi chờ đã đầy) đến lúc được "
    "gọi vào, cho các xe được gọi trong lần chạy; xe vẫn còn chờ khi kết thúc được đếm ở cột "
    "<em>còn chờ khi kết thúc</em>. Hàng dễ hỏng bị coi là hư hỏng khi quá hạn tươi trước khi "
    "được thông quan; xe chưa được gọi thì rời khỏi hàng chờ.",
    "等待时间从车辆到达边境（待检区已满时在道路上等候）起算，至被叫号为止，仅统计运行期间被叫号的"
    "车辆；运行结束时仍在等待的车辆计入<em>结束时仍在等待</em>。易腐货物在放行前超过保鲜期限即为"
    "变质；尚未被叫号的车辆随即离开队列。"};
inline const Tri kQueueLength = {"Queue length", "Độ dài hàng chờ", "排队长度"};
inline const Tri kWaitsPerClass = {"Waits per class", "Thời gian chờ theo nhóm ưu tiên",
                                   "按优先类别的等待时间"};
inline const Tri kSpoiledLoads = {"Spoiled loads", "Hàng hư hỏng", "变质货物"};
inline const Tri kLaneUtilisation = {"Lane utilisation", "Mức sử dụng làn", "车道利用率"};

// --- The key figures' columns.
inline const Tri kColumns[] = {
    {"run", "Lần chạy", "运行"},
    {"arrived", "Xe đến", "到达车辆"},
    {"cleared", "Đã qua biên giới", "已出境"},  // state.crossed
    {"cleared/day", "Qua biên giới/ngày", "每日出境"},
    {"mean wait h", "Chờ trung bình (giờ)", "平均等待（小时）"},
    {"p95 wait h", "Chờ p95 (giờ)", "等待 p95（小时）"},
    {"max wait h", "Chờ tối đa (giờ)", "最长等待（小时）"},
    {"perishable mean h", "Hàng dễ hỏng: chờ trung bình (giờ)",  // priority.perishable
     "易腐货物平均等待（小时）"},
    {"regular mean h", "Thông thường: chờ trung bình (giờ)",  // priority.regular
     "普通平均等待（小时）"},
    {"spoiled", "Hàng hư hỏng", "变质货物"},
    {"expired decl.", "Tờ khai hết hạn", "过期申报"},  // error.declaration_expired
    {"waiting at end", "Còn chờ khi kết thúc", "结束时仍在等待"},
    {"refused", "Bị từ chối", "已拒绝"},                                // state.refused
    {"pred. error mean h", "Sai số giờ gọi dự kiến, trung bình (giờ)",  // col.expectedCall
     "预计叫号误差平均（小时）"},
    {"pred. error p90 h", "Sai số giờ gọi dự kiến, p90 (giờ)", "预计叫号误差 p90（小时）"},
    {"commands", "Lệnh", "命令"},
    {"events", "Sự kiện", "事件"},
};

// --- The charts.
inline const Tri kQueueTitle = {"Trucks waiting (staging yard and road) over time",
                                "Xe đang chờ (bãi chờ và trên đường) theo thời gian",
                                "等待车辆（待检区及道路）随时间变化"};
inline const Tri kQueueY = {"trucks waiting", "xe đang chờ", "等待车辆"};  // board.waiting
inline const Tri kQueueX = {"day of the run", "ngày của lần chạy", "运行天数"};
inline const Tri kWaitTitle = {
    "Wait from arrival to call, by priority class (box: 25–75%, whiskers: 5–95%, line: median, "
    "dot: mean)",
    "Thời gian chờ từ khi xe đến tới khi được gọi vào, theo nhóm ưu tiên (hộp: 25–75%, râu: "
    "5–95%, vạch: trung vị, chấm: trung bình)",
    "从到达到叫号的等待时间，按优先类别（箱体：25–75%，须线：5–95%，横线：中位数，圆点：平均值）"};
inline const Tri kWaitY = {"wait (hours)", "thời gian chờ (giờ)", "等待（小时）"};
inline const Tri kWaitX = {"priority class", "nhóm ưu tiên", "优先类别"};
inline const Tri kSpoiledTitle = {"Spoiled perishable loads and expired declarations",
                                  "Hàng dễ hỏng bị hư hỏng và tờ khai hết hạn",
                                  "变质的易腐货物和过期申报"};
inline const Tri kSpoiledY = {"trucks", "xe", "车辆"};
inline const Tri kSpoiledX = {"run", "lần chạy", "运行"};
inline const Tri kSpoiledLegend = {"spoiled loads", "hàng hư hỏng", "变质货物"};
inline const Tri kExpiredLegend = {"expired declarations", "tờ khai hết hạn", "过期申报"};

// --- The lane table (col.lane; control.lanesOccupied's wording).
inline const Tri kLaneColumn = {"direction / lane class", "Hướng / loại làn", "方向 / 车道类别"};
inline const Tri kLaneName = {"{0} · {1}", "{0} · {1}", "{0} · {1}"};
inline const Tri kDirectionName = {"{0} → {1}", "{0} → {1}", "{0} → {1}"};  // direction.name
// {0} percent busy of open time, {1} lanes.
inline const Tri kUtilisation = {"{0}% of {1}", "{0}% của {1} làn", "{0}%（共 {1} 条车道）"};
// A run's label ends " · N lanes" when one lane class varies (src/cli/sim_cli.cpp).
inline const Tri kLanesSuffix = {" · {0} lanes", " · {0} làn", " · {0} 条车道"};
inline const Tri kLaneSuffix = {" · {0} lane", " · {0} làn", " · {0} 条车道"};

// --- The web app's names of things the twin counts by id.
inline const std::map<std::string, Tri>& PriorityNames() {  // priority.*
  static const std::map<std::string, Tri> names = {
      {"trusted_perishable",
       {"trusted, perishable", "ưu tiên, hàng dễ hỏng", "认证企业、易腐货物"}},
      {"perishable", {"perishable", "hàng dễ hỏng", "易腐货物"}},
      {"trusted", {"trusted", "doanh nghiệp ưu tiên", "认证企业"}},
      {"regular", {"regular", "thông thường", "普通"}},
  };
  return names;
}
inline const std::map<std::string, Tri>& PolicyNames() {  // policy.*
  static const std::map<std::string, Tri> names = {
      {"fifo", {"First come, first served", "Đến trước, vào trước", "先到先放"}},
      {"cyclic", {"Cyclic", "Luân phiên", "轮转"}},
      {"smart",
       {"Smart (perishables first, fair)", "Thông minh (ưu tiên hàng tươi, công bằng)",
        "智能（鲜果优先，兼顾公平）"}},
  };
  return names;
}
inline const std::map<std::string, Tri>& LaneClassNames() {  // lane.*
  static const std::map<std::string, Tri> names = {
      {"general_cargo", {"General cargo", "Hàng thông thường", "普通货物"}},
      {"fresh_produce", {"Fresh produce", "Trái cây tươi", "鲜果"}},
      {"empty_return", {"Empty return", "Xe rỗng", "空车返回"}},
  };
  return names;
}
inline const std::map<std::string, Tri>& CountryNames() {  // country.*
  static const std::map<std::string, Tri> names = {
      {"VN", {"Vietnam", "Việt Nam", "越南"}},
      {"CN", {"China", "Trung Quốc", "中国"}},
  };
  return names;
}

}  // namespace borderflow::sim::report_text
