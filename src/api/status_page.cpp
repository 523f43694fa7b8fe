#include "status_page.h"

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include <borderflow/core/digest.h>

namespace borderflow::api {

namespace {

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

constexpr const char* kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>borderflow — {title}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1c2733; }}
 header {{ background: #0b4f6c; color: white; padding: 1rem 1.5rem; display: flex;
          justify-content: space-between; align-items: center; flex-wrap: wrap; gap: .5rem; }}
 h1 {{ font-size: 1.3rem; margin: 0; }}
 main {{ padding: 1rem 1.5rem; max-width: 70rem; }}
 .sides {{ display: flex; gap: 1rem; flex-wrap: wrap; }}
 .card {{ background: white; border-radius: .5rem; padding: 1rem; box-shadow: 0 1px 3px #0002;
         flex: 1 1 18rem; }}
 .open {{ color: #1b7f3b; font-weight: 600; }} .closed {{ color: #b3261e; font-weight: 600; }}
 table {{ border-collapse: collapse; width: 100%; background: white; margin-top: 1rem; }}
 th, td {{ text-align: left; padding: .5rem; border-bottom: 1px solid #dde3e8; }}
 .bar {{ background: #0b4f6c; height: .6rem; border-radius: .3rem; }}
 select {{ font-size: 1rem; }}
 footer {{ padding: 1rem 1.5rem; color: #5b6b7a; font-size: .85rem; }}
</style>
</head>
<body>
<header>
 <h1 id="title">{title}</h1>
 <label><span data-t="language">Language</span>
  <select id="lang" aria-label="Language">
   <option value="vi">Tiếng Việt</option><option value="zh">中文</option><option value="en">English</option>
  </select></label>
</header>
<main>
 <div class="sides" id="sides"></div>
 <table aria-describedby="title"><thead><tr>
  <th data-t="direction">Direction</th><th data-t="lane_class">Lane class</th>
  <th data-t="lanes">Lanes</th><th data-t="waiting">Waiting</th>
  <th data-t="expected_wait">Expected wait</th><th data-t="capacity_today">Capacity today</th>
  <th></th></tr></thead>
  <tbody id="rows"></tbody></table>
</main>
<footer><span data-t="updated">Updated</span> <span id="updated"></span> ·
 <a href="/api/v1/gate">/api/v1/gate</a> · <a href="/api/v1/wait-board">/api/v1/wait-board</a> ·
 <a href="/metrics">/metrics</a></footer>
<script>
const T = {{
 en: {{language:"Language", direction:"Direction", lane_class:"Lane class", lanes:"Lanes",
      waiting:"Waiting", updated:"Updated", open:"Open", closed:"Closed", hours:"Hours",
      general_cargo:"General cargo", fresh_produce:"Fresh produce", empty_return:"Empty return",
      expected_wait:"Expected wait", capacity_today:"Capacity today", beyond:"more than"}},
 vi: {{language:"Ngôn ngữ", direction:"Hướng", lane_class:"Loại làn", lanes:"Số làn",
      waiting:"Đang chờ", updated:"Cập nhật", open:"Mở cửa", closed:"Đóng cửa", hours:"Giờ làm việc",
      general_cargo:"Hàng thông thường", fresh_produce:"Trái cây tươi", empty_return:"Xe rỗng về",
      expected_wait:"Thời gian chờ dự kiến", capacity_today:"Công suất hôm nay", beyond:"hơn"}},
 zh: {{language:"语言", direction:"方向", lane_class:"车道类别", lanes:"车道数", waiting:"等待",
      updated:"更新时间", open:"开放", closed:"关闭", hours:"开放时间",
      general_cargo:"普通货物", fresh_produce:"鲜果", empty_return:"空车返回",
      expected_wait:"预计等待", capacity_today:"今日通行能力", beyond:"超过"}}
}};
let lang = localStorage.getItem("lang") || "vi";
document.getElementById("lang").value = lang;
document.getElementById("lang").onchange = e => {{ lang = e.target.value;
  localStorage.setItem("lang", lang); render(); }};
let last = null, board = null;
function t(k) {{ return (T[lang] || T.en)[k] || k; }}
// "2026-11-29T10:42:33.734+07:00" -> "2026-11-29 10:42 (UTC+07:00)": the side's own local time.
function when(iso) {{ return `${{iso.slice(0, 10)}} ${{iso.slice(11, 16)}} (UTC${{iso.slice(-6)}})`; }}
function render() {{
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach(el => el.textContent = t(el.dataset.t));
  if (!last) return;
  const side = s => `<div class="card"><h2>${{s.name[lang]}}</h2>
    <p class="${{s.open ? "open" : "closed"}}">${{t(s.open ? "open" : "closed")}}</p>
    <p>${{t("hours")}}: ${{s.hours}} (UTC${{s.utc_offset}})<br>${{when(s.local_time)}}</p></div>`;
  document.getElementById("sides").innerHTML = side(last.self) + side(last.counterpart);
  document.getElementById("title").textContent =
      `${{last.self.name[lang]}} – ${{last.counterpart.name[lang]}}`;
  // The queue's prediction for a truck arriving now (h:mm), from /api/v1/wait-board.
  const lane = (d, c) => board && board.lanes.find(l => l.direction === d && l.lane_class === c);
  const wait = l => !l ? "" : l.expected_wait_minutes === null ? `${{t("beyond")}} ${{l.beyond_hours}} h`
      : `${{Math.floor(l.expected_wait_minutes / 60)}}:${{String(l.expected_wait_minutes % 60).padStart(2, "0")}}`;
  let rows = "";
  for (const d of last.directions) for (const c of d.lane_classes) {{
    const w = Math.min(100, c.waiting), l = lane(d.id, c.lane_class);
    rows += `<tr><td>${{d.from}} → ${{d.to}}</td><td>${{t(c.lane_class)}}</td><td>${{c.lanes}}</td>
      <td>${{c.waiting}}</td><td>${{wait(l)}}</td><td>${{l ? l.capacity_today : ""}}</td>
      <td style="width:25%"><div class="bar" style="width:${{w}}%"></div></td></tr>`;
  }}
  document.getElementById("rows").innerHTML = rows;
  document.getElementById("updated").textContent = when(last.self.local_time);
}}
async function refresh() {{
  try {{ const r = await fetch("/api/v1/gate"); if (r.ok) last = await r.json(); }} catch (e) {{}}
  try {{ const r = await fetch("/api/v1/wait-board"); if (r.ok) board = await r.json(); }} catch (e) {{}}
  render();
}}
refresh(); setInterval(refresh, 5000);
</script>
</body>
</html>
)HTML";

// Standard base64 (RFC 4648 section 4) of the bytes that `hex` spells.
std::string Base64OfHex(std::string_view hex) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace

std::string StatusPageContentSecurityPolicy(std::string_view html) {
  std::string script_hash;
  constexpr std::string_view kOpen = "<script>";
  const size_t open = html.find(kOpen);
  const size_t close = open == std::string_view::npos ? open : html.find("</script>", open);
  if (close != std::string_view::npos) {
    const std::string_view script = html.substr(open + kOpen.size(), close - open - kOpen.size());
    script_hash = " 'sha256-" + Base64OfHex(Sha256Hex(script)) + "'";
  }
  return "default-src 'none'; script-src" + (script_hash.empty() ? " 'none'" : script_hash) +
         "; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; "
         "form-action 'none'; frame-ancestors 'none'";
}

std::string StatusPageHtml(const GateConfig& config) {
  return fmt::format(
      kPage, fmt::arg("title", Escape(config.self.name.en + " – " + config.counterpart.name.en)));
}

}  // namespace borderflow::api
