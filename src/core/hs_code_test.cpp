#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/core/hs_code.h>

namespace borderflow {
namespace {

const HsNomenclature& Hs() { return *HsNomenclature::Hs2022(); }

void ExpectError(const Result<HsCode>& r, std::string_view code, std::string_view why) {
  ASSERT_FALSE(r.has_value()) << "accepted " << r->code;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(r.error().code, code) << r.error().ToString();
  EXPECT_NE(r.error().message.find(why), std::string::npos)
      << "message '" << r.error().message << "' lacks '" << why << "'";
}

std::vector<std::string> Codes(const std::vector<const HsEntry*>& entries) {
  std::vector<std::string> codes;
  for (const HsEntry* e : entries) codes.push_back(e->code);
  return codes;
}

constexpr std::string_view kSmallCsv =
    "section,hscode,description,parent,level\n"
    "II,08,\"Fruit and nuts, edible\",TOTAL,2\n"
    "II,0810,\"Fruit, fresh\",08,4\n"
    "II,081060,\"Fruit, edible; durians, fresh\",0810,6\n";

Result<std::shared_ptr<const HsNomenclature>> Parse(std::string_view csv) {
  return HsNomenclature::FromCsv(csv);
}

void ExpectCsvError(std::string_view csv, std::string_view why) {
  auto r = Parse(csv);
  ASSERT_FALSE(r.has_value()) << "accepted:\n" << csv;
  EXPECT_EQ(r.error().code, "invalid_hs_csv");
  EXPECT_NE(r.error().message.find(why), std::string::npos)
      << "message '" << r.error().message << "' lacks '" << why << "'";
}

TEST(HsCodeTest, EmbeddedNomenclatureIsComplete) {
  // data/hs/README.md counts 97 chapters, 1,229 headings and 5,613 subheadings, which include
  // UN Comtrade's pseudo-codes 99 / 9999 / 999999 ("not specified according to kind", section
  // TOTAL); those are not HS 2022 codes and are left out.
  ASSERT_NE(HsNomenclature::Hs2022(), nullptr);
  EXPECT_EQ(Hs().size(), 96u + 1228u + 5612u);
  EXPECT_EQ(HsNomenclature::Hs2022(), HsNomenclature::Hs2022());  // parsed once
  // The embedded copy is the file in the source tree.
  std::ifstream in(BORDERFLOW_SOURCE_DIR "/data/hs/hs2022.csv", std::ios::binary);
  ASSERT_TRUE(in);
  std::stringstream content;
  content << in.rdbuf();
  auto from_file = HsNomenclature::FromCsv(content.str());
  ASSERT_TRUE(from_file.has_value()) << from_file.error().ToString();
  EXPECT_EQ((*from_file)->size(), Hs().size());
}

TEST(HsCodeTest, Hs2022IsThreadSafeAndShared) {
  std::vector<const HsNomenclature*> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = HsNomenclature::Hs2022().get(); });
  }
  for (auto& t : threads) t.join();
  for (const HsNomenclature* p : seen) EXPECT_EQ(p, HsNomenclature::Hs2022().get());
}

TEST(HsCodeTest, ValidSubheadingsAndNationalLines) {
  auto r = Hs().Validate("081090");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->code, "081090");
  EXPECT_EQ(r->subheading, "081090");
  EXPECT_EQ(r->chapter, "08");
  EXPECT_NE(r->description.find("fruits n.e.c."), std::string::npos) << r->description;

  auto durian = Hs().Validate("0810.60");
  ASSERT_TRUE(durian.has_value());
  EXPECT_EQ(durian->code, "081060");
  EXPECT_NE(durian->description.find("durians"), std::string::npos);

  auto national = Hs().Validate("0810.90.40");
  ASSERT_TRUE(national.has_value()) << national.error().ToString();
  EXPECT_EQ(national->code, "08109040");
  EXPECT_EQ(national->subheading, "081090");
  EXPECT_EQ(national->chapter, "08");

  auto ten = Hs().Validate(" 0810 90 40 00 ");
  ASSERT_TRUE(ten.has_value());
  EXPECT_EQ(ten->code, "0810904000");

  EXPECT_TRUE(Hs().Validate("0805.10").has_value());
  EXPECT_TRUE(Hs().Validate("010121").has_value());      // first subheading
  EXPECT_TRUE(Hs().Validate("970690").has_value());      // last subheading
  EXPECT_TRUE(Hs().Validate("0205.00").has_value());     // undivided heading
  EXPECT_TRUE(Hs().Validate("8703.80.10").has_value());  // electric cars
}

TEST(HsCodeTest, MalformedCodes) {
  ExpectError(Hs().Validate("08"), "invalid_hs_code", "has 2 digits");
  ExpectError(Hs().Validate("0810"), "invalid_hs_code", "has 4 digits");
  ExpectError(Hs().Validate("08109"), "invalid_hs_code", "has 5 digits");
  ExpectError(Hs().Validate("08109040001"), "invalid_hs_code", "has 11 digits");
  ExpectError(Hs().Validate(""), "invalid_hs_code", "has 0 digits");
  ExpectError(Hs().Validate(". ."), "invalid_hs_code", "has 0 digits");
  ExpectError(Hs().Validate("abc"), "invalid_hs_code", "only digits, dots and spaces");
  ExpectError(Hs().Validate("0810-90"), "invalid_hs_code", "only digits, dots and spaces");
  ExpectError(Hs().Validate("081090x"), "invalid_hs_code", "only digits, dots and spaces");
  ExpectError(Hs().Validate("\xff\x00\x01"), "invalid_hs_code", "only digits");
  ExpectError(Hs().Validate(std::string(1000, '1')), "invalid_hs_code", "1000 bytes");
  // Non-printable input is not echoed verbatim.
  auto r = Hs().Validate(
      "08\xff"
      "1090");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find('\xff'), std::string::npos);
}

TEST(HsCodeTest, UnknownCodes) {
  ExpectError(Hs().Validate("999999"), "unknown_hs_code", "999999 is not an HS 2022 subheading");
  ExpectError(Hs().Validate("999999"), "unknown_hs_code", "there is no chapter 99");
  ExpectError(Hs().Validate("770000"), "unknown_hs_code", "no chapter 77");  // reserved chapter
  ExpectError(Hs().Validate("089900"), "unknown_hs_code", "chapter 08 exists but has no heading");
  ExpectError(Hs().Validate("0810.99"), "unknown_hs_code", "heading 0810");
  ExpectError(Hs().Validate("0810.99"), "unknown_hs_code", "exists but has no subheading 081099");
  ExpectError(Hs().Validate("08109940"), "unknown_hs_code", "081099");
  ExpectError(Hs().Validate("081000"), "unknown_hs_code", "heading 0810");  // divided heading
}

TEST(HsCodeTest, FindChapterHeadingSubheading) {
  const HsEntry* chapter = Hs().Find("08");
  ASSERT_NE(chapter, nullptr);
  EXPECT_EQ(chapter->level, 2);
  EXPECT_EQ(chapter->parent, "TOTAL");
  EXPECT_EQ(chapter->section, "II");
  EXPECT_EQ(chapter->description, "Fruit and nuts, edible; peel of citrus fruit or melons");

  const HsEntry* heading = Hs().Find("0804");
  ASSERT_NE(heading, nullptr);
  EXPECT_EQ(heading->level, 4);
  EXPECT_EQ(heading->parent, "08");
  EXPECT_EQ(heading->description,
            "Dates, figs, pineapples, avocados, guavas, mangoes and mangosteens; fresh or dried");

  const HsEntry* sub = Hs().Find("080450");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->level, 6);
  EXPECT_EQ(sub->parent, "0804");
  EXPECT_EQ(sub->code, "080450");
  EXPECT_EQ(Hs().Find("0804.50"), sub);

  const HsEntry* last = Hs().Find("9706");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->section, "XXI");

  EXPECT_EQ(Hs().Find(""), nullptr);
  EXPECT_EQ(Hs().Find("0"), nullptr);
  EXPECT_EQ(Hs().Find("99"), nullptr);
  EXPECT_EQ(Hs().Find("080451"), nullptr);
  EXPECT_EQ(Hs().Find("08045000"), nullptr);  // national lines are not entries
  EXPECT_EQ(Hs().Find("TOTAL"), nullptr);     // the grand-total row is not an entry
}

TEST(HsCodeTest, SearchByCodePrefix) {
  auto found = Hs().Search("0804", 10);
  EXPECT_EQ(Codes(found),
            (std::vector<std::string>{"080410", "080420", "080430", "080440", "080450", "0804"}));
  EXPECT_EQ(Codes(Hs().Search("0804", 2)), (std::vector<std::string>{"080410", "080420"}));
  EXPECT_EQ(Codes(Hs().Search("0804.5", 10)), (std::vector<std::string>{"080450"}));
  auto chapter = Hs().Search("08", 1000);
  ASSERT_FALSE(chapter.empty());
  EXPECT_EQ(chapter.back()->code, "08");  // subheadings first, the chapter last
  for (const HsEntry* e : chapter) EXPECT_TRUE(e->code.starts_with("08"));
  EXPECT_TRUE(Hs().Search("99", 10).empty());
  EXPECT_TRUE(Hs().Search("0804", 0).empty());
}

TEST(HsCodeTest, SearchByWords) {
  auto durian = Hs().Search("durian", 10);
  EXPECT_EQ(Codes(durian), (std::vector<std::string>{"081060"}));
  EXPECT_EQ(Codes(Hs().Search("DURIANS", 10)), (std::vector<std::string>{"081060"}));

  // Every word must occur, in any order.
  auto mangoes = Hs().Search("mangoes fresh", 10);
  ASSERT_FALSE(mangoes.empty());
  EXPECT_EQ(mangoes.front()->code, "080450");
  EXPECT_EQ(mangoes.back()->code, "0804");  // the heading after its subheading

  auto fresh = Hs().Search("fresh", 5);
  EXPECT_EQ(fresh.size(), 5u);
  for (const HsEntry* e : fresh) EXPECT_EQ(e->level, 6);

  EXPECT_TRUE(Hs().Search("durian smartphone", 10).empty());
  EXPECT_TRUE(Hs().Search("", 10).empty());
  EXPECT_TRUE(Hs().Search("  , ", 10).empty());
  EXPECT_TRUE(Hs().Search("\xff\xfe", 10).empty());
}

TEST(HsCodeTest, FromCsvAcceptsQuotingBomAndCrlf) {
  auto plain = Parse(kSmallCsv);
  ASSERT_TRUE(plain.has_value()) << plain.error().ToString();
  EXPECT_EQ((*plain)->size(), 3u);
  EXPECT_EQ((*plain)->Find("0810")->description, "Fruit, fresh");

  std::string crlf;
  for (char c : std::string("\xEF\xBB\xBF") + std::string(kSmallCsv)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto with_bom = Parse(crlf);
  ASSERT_TRUE(with_bom.has_value()) << with_bom.error().ToString();
  EXPECT_EQ((*with_bom)->size(), 3u);
  EXPECT_EQ((*with_bom)->Find("081060")->description, "Fruit, edible; durians, fresh");

  auto quotes = Parse(
      "section,hscode,description,parent,level\n"
      "II,08,\"Fruit \"\"edible\"\", nuts\",TOTAL,2\n"
      "II,0810,Fruit,08,4\n"
      "II,081060,\"Durians,\nfresh\",0810,6\n"
      "TOTAL,99,Not specified,TOTAL,2\n"
      "TOTAL,TOTAL,Total,TOTAL,5");  // no final newline
  ASSERT_TRUE(quotes.has_value()) << quotes.error().ToString();
  EXPECT_EQ((*quotes)->Find("08")->description, "Fruit \"edible\", nuts");
  EXPECT_EQ((*quotes)->Find("081060")->description, "Durians,\nfresh");
  EXPECT_EQ((*quotes)->size(), 3u);  // the Comtrade TOTAL rows are skipped
  EXPECT_EQ((*quotes)->Find("99"), nullptr);

  // Unsorted input is sorted.
  auto unsorted = Parse(
      "section,hscode,description,parent,level\n"
      "II,0810,Fruit,08,4\n"
      "II,08,Fruit and nuts,TOTAL,2\n");
  ASSERT_TRUE(unsorted.has_value()) << unsorted.error().ToString();
  EXPECT_EQ(Codes((*unsorted)->Search("08", 5)), (std::vector<std::string>{"0810", "08"}));
}

TEST(HsCodeTest, FromCsvRejectsMalformedInput) {
  ExpectCsvError("", "empty");
  ExpectCsvError("code,description\n08,Fruit\n", "line 1: expected the header");
  ExpectCsvError("section,hscode,description,parent,level\n", "no entries");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,2\n"
      "II,0810,\"Fruit, fresh,08,4\n",
      "line 3: a quoted field is not closed");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,2\n"
      "II,0810,Fruit, fresh,08,4\n",
      "line 3: expected 5 fields, found 6");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL\n",
      "line 2: expected 5 fields, found 4");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,\"Fruit\"x,TOTAL,2\n",
      "line 2: unexpected character after a closing quote");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fr\"uit,TOTAL,2\n",
      "line 2: a quote inside an unquoted field");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,2\n"
      "II,081,Fruit,08,4\n",
      "line 3: code '081' is not 4 digits");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,3\n",
      "line 2: level '3' is not 2, 4 or 6");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,2\n"
      "II,0810,Fruit,09,4\n",
      "line 3: parent of 0810 is '09', expected '08'");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,0810,Fruit,08,4\n",
      "line 2: parent 08 of 0810 is not in the file");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,Fruit,TOTAL,2\n"
      "\n"
      "II,08,Fruit again,TOTAL,2\n",
      "line 4: duplicate code 08");
  ExpectCsvError(
      "section,hscode,description,parent,level\n"
      "II,08,,TOTAL,2\n",
      "line 2: 08 has an empty section or description");
  ExpectCsvError("section,hscode,description,parent,level\rII,08,Fruit,TOTAL,2\n",
                 "carriage return");
}

// Traders in Vietnam and China search in their language, with or without diacritics, and by
// the everyday names the HS descriptions do not use (dragon fruit is "fruits n.e.c.").
TEST(HsCodeTest, SearchByEverydayNamesInThreeLanguages) {
  auto hs = HsNomenclature::Hs2022();
  auto first = [&](std::string_view q) {
    auto found = hs->Search(q, 5);
    return found.empty() ? std::string("(none)") : found.front()->code;
  };
  EXPECT_EQ(first("sầu riêng"), "081060");
  EXPECT_EQ(first("Sầu Riêng"), "081060");
  EXPECT_EQ(first("sau rieng"), "081060");
  EXPECT_EQ(first("sa\u0300u rie\u0302ng"), "081060");  // typed decomposed (NFD)
  EXPECT_EQ(first("榴莲"), "081060");
  EXPECT_EQ(first("durian"), "081060");
  EXPECT_EQ(first("thanh long"), "081090");
  EXPECT_EQ(first("火龙果"), "081090");
  EXPECT_EQ(first("dragon fruit"), "081090");
  EXPECT_EQ(first("xoài"), "080450");
  EXPECT_EQ(first("chuối"), "080390");
  EXPECT_EQ(first("đồ gỗ"), "940360");
  EXPECT_EQ(first("do go"), "940360");
  // A name that is the query comes before names and descriptions that merely contain it: "lê"
  // (pear) folds to "le", which is in many descriptions ("vegetables", "edible").
  EXPECT_EQ(first("lê"), "080830");
  EXPECT_EQ(first("逆变器"), "850440");
  EXPECT_EQ(first("mango"), "080450");  // the English description still matches
  const HsEntry* durian = hs->Find("081060");
  ASSERT_NE(durian, nullptr);
  EXPECT_EQ(durian->names_vi, std::vector<std::string>{"sầu riêng"});
  EXPECT_EQ(durian->names_zh, std::vector<std::string>{"榴莲"});
  EXPECT_TRUE(hs->Search("ăn được không có", 5).empty());  // nothing named or described so
}

TEST(HsCodeTest, AddNamesRefusesWhatIsNotASubheadingOrAName) {
  auto parsed = HsNomenclature::FromCsv(
      "section,hscode,description,parent,level\n"
      "II,08,\"Fruit\",TOTAL,2\n"
      "II,0810,\"Other fruit\",08,4\n"
      "II,081060,\"Durians\",0810,6\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  auto hs = std::const_pointer_cast<HsNomenclature>(*parsed);
  EXPECT_TRUE(hs->AddNames("hscode,vi,zh,en\n081060,sầu riêng,榴莲,durian\n").has_value());
  for (const auto& [csv, why] : std::vector<std::pair<std::string, std::string>>{
           {"code,vi,zh,en\n", "expected the header"},
           {"hscode,vi,zh,en\n081090,mít,菠萝蜜,jackfruit\n", "line 2: '081090' is not an HS"},
           {"hscode,vi,zh,en\n0810,x,x,x\n", "'0810' is not an HS 2022 subheading"},
           {"hscode,vi,zh,en\n081060,sầu riêng,,durian\n", "081060 has an empty name"},
           {"hscode,vi,zh,en\n081060,a||b,x,y\n", "081060 has an empty name"},
           {"hscode,vi,zh,en\n081060,a,b\n", "expected 4 fields"},
       }) {
    Status s = hs->AddNames(csv);
    ASSERT_FALSE(s.has_value()) << csv;
    EXPECT_EQ(s.error().code, "invalid_hs_csv");
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  }
}

}  // namespace
}  // namespace borderflow
