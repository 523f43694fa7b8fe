#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <borderflow/link/envelope.h>
#include <borderflow/link/node_key.h>

#include "link_test_util.h"

namespace borderflow {
namespace {

using link_test::KeyFromByte;
using link_test::Pin;
using link_test::SampleEnvelope;
using link_test::T0;

std::vector<uint8_t> Bytes(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::array<uint8_t, 32> Hex32(std::string_view hex) {
  std::array<uint8_t, 32> out;
  for (size_t i = 0; i < 32; ++i)
    out[i] = std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16);
  return out;
}

TEST(NodeKeyTest, DerivesTheRfc8032KeyAndItsId) {
  // RFC 8032, section 7.1, test 1.
  NodeKey key = NodeKeyFromSeed(
      Hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"), T0());
  EXPECT_EQ(key.public_key,
            Hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  // "ed25519:" + the first 8 bytes of SHA-256 of the public key (computed independently).
  EXPECT_EQ(key.key_id, "ed25519:21fe31dfa154a261");
  EXPECT_EQ(KeyIdOf(key.public_key), key.key_id);
  EXPECT_EQ(Base64Encode(key.public_key), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(key.created_at, T0());
}

TEST(NodeKeyTest, GeneratedKeysAreFreshAndSign) {
  NodeKey a = GenerateNodeKey(T0()), b = GenerateNodeKey(T0());
  EXPECT_NE(a.public_key, b.public_key);
  EXPECT_NE(a.key_id, b.key_id);
  EXPECT_EQ(a.key_id, KeyIdOf(a.public_key));
  EXPECT_EQ(a.key_id.size(), 8 + 16u);
  PeerKeyRing ring;
  ASSERT_TRUE(ring.Add(Pin(a)));
  VerifyOptions options{.expected_from = "VN-HN", .expected_to = "CN-YY", .now = T0()};
  EXPECT_TRUE(VerifyAndOpen(Sign(SampleEnvelope(), a), ring, options));
  EXPECT_EQ(VerifyAndOpen(Sign(SampleEnvelope(), b), ring, options).error().code, "unknown_key");
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, Bytes(plain));
  }
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  auto decoded = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, all);
  EXPECT_NE(Base64Encode(all).find('+'), std::string::npos);
  EXPECT_NE(Base64Encode(all).find('/'), std::string::npos);
}

TEST(Base64Test, DecodingIsStrict) {
  for (std::string_view bad :
       {"Zg", "Zg=", "Zm8", "Zg===", "Zm9v=", "Zm9v====", "Zh==", "Zm9=", "=Zg=", "Zg==Zg==",
        "Zm9v\n", " Zm9v", "Zm 9v", "Zm9-", "Zm9_", "Zm9*", "Z\0g=", "Zm9vYg==\r\n", "===="}) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r) << "accepted '" << bad << "'";
    EXPECT_EQ(r.error().code, "invalid_base64");
  }
}

TEST(KeyFileTest, RoundTrips) {
  NodeKey key = KeyFromByte(7);
  std::string text = EncodeKeyFile(key);
  EXPECT_NE(text.find("key_id = \"" + key.key_id + "\""), std::string::npos);
  EXPECT_NE(text.find("created_at = \"2026-11-29T01:00:00.000Z\""), std::string::npos);
  auto decoded = DecodeKeyFile(text);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->key_id, key.key_id);
  EXPECT_EQ(decoded->public_key, key.public_key);
  EXPECT_EQ(decoded->secret_key, key.secret_key);
  EXPECT_EQ(decoded->created_at, key.created_at);
  // Blank lines, comments, CRLF line ends and spaces around '=' are fine.
  std::string edited = "\n# comment\r\n";
  for (char c : text) edited += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto pos = edited.find("key_id = ");
  edited.replace(pos, 9, "key_id\t=   ");
  EXPECT_TRUE(DecodeKeyFile(edited)) << edited;
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

std::string Line(const std::string& text, std::string_view key) {
  auto start = text.find(std::string(key) + " = ");
  return text.substr(start, text.find('\n', start) - start + 1);
}

TEST(KeyFileTest, CorruptionIsRefused) {
  NodeKey key = KeyFromByte(7), other = KeyFromByte(8);
  const std::string text = EncodeKeyFile(key);
  const std::string other_text = EncodeKeyFile(other);
  struct Case {
    std::string name, text, code;
  };
  std::vector<Case> cases = {
      {"other public key", Replace(text, Line(text, "public_key"), Line(other_text, "public_key")),
       "key_mismatch"},
      {"other key id", Replace(text, Line(text, "key_id"), Line(other_text, "key_id")),
       "key_mismatch"},
      {"other seed", Replace(text, Line(text, "secret_seed"), Line(other_text, "secret_seed")),
       "key_mismatch"},
      {"missing seed", Replace(text, Line(text, "secret_seed"), ""), "invalid_key_file"},
      {"missing created_at", Replace(text, Line(text, "created_at"), ""), "invalid_key_file"},
      {"duplicate key id", text + Line(text, "key_id"), "invalid_key_file"},
      {"unknown key", text + "comment = \"x\"\n", "invalid_key_file"},
      {"unquoted",
       Replace(text, "format = \"borderflow-node-key-v1\"", "format = borderflow-node-key-v1"),
       "invalid_key_file"},
      {"other format", Replace(text, "node-key-v1", "node-key-v2"), "invalid_key_file"},
      {"no equals sign", text + "garbage\n", "invalid_key_file"},
      {"seed not base64", Replace(text, "secret_seed = \"", "secret_seed = \"!"),
       "invalid_key_file"},
      {"short seed", Replace(text, Line(text, "secret_seed"), "secret_seed = \"AAAA\"\n"),
       "invalid_key_file"},
      {"bad time", Replace(text, "2026-11-29T01:00:00.000Z", "2026-11-29 01:00"),
       "invalid_key_file"},
      {"empty", "", "invalid_key_file"},
  };
  for (const Case& c : cases) {
    auto r = DecodeKeyFile(c.text);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().ToString();
    // The secret never appears in an error.
    std::string seed_b64 = Line(text, "secret_seed").substr(15, 44);
    EXPECT_EQ(r.error().message.find(seed_b64), std::string::npos) << c.name;
  }
}

class KeyFileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bf-link-key-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileIoTest, WritesMode0600AndReadsBack) {
  std::string path = (dir_ / "node.key").string();
  NodeKey key = KeyFromByte(5);
  mode_t old_mask = umask(0);  // even a permissive umask must not widen the mode
  auto written = WriteKeyFile(path, key, false);
  umask(old_mask);
  ASSERT_TRUE(written) << written.error().ToString();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = ReadKeyFile(path);
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(read->secret_key, key.secret_key);
  EXPECT_EQ(read->key_id, key.key_id);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(KeyFileIoTest, KeepsAnExistingFileUnlessOverwriting) {
  std::string path = (dir_ / "node.key").string();
  NodeKey first = KeyFromByte(5), second = KeyFromByte(6);
  ASSERT_TRUE(WriteKeyFile(path, first, false));
  auto again = WriteKeyFile(path, second, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "key_file_exists");
  EXPECT_EQ(ReadKeyFile(path)->key_id, first.key_id);
  ASSERT_TRUE(WriteKeyFile(path, second, true));
  EXPECT_EQ(ReadKeyFile(path)->key_id, second.key_id);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(KeyFileIoTest, ReadErrors) {
  EXPECT_EQ(ReadKeyFile((dir_ / "missing.key").string()).error().code, "key_file_not_found");
  std::string path = (dir_ / "node.key").string();
  ASSERT_TRUE(WriteKeyFile(path, KeyFromByte(5), false));
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto open = ReadKeyFile(path);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, "key_file_permissions");
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::remove);
  EXPECT_TRUE(ReadKeyFile(path));
  { std::ofstream(path, std::ios::app) << "public_key = \"AAAA\"\n"; }
  auto corrupt = ReadKeyFile(path);
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code, "invalid_key_file");
  EXPECT_NE(corrupt.error().message.find(path), std::string::npos);
  EXPECT_FALSE(ReadKeyFile(dir_.string()));  // a directory
  EXPECT_FALSE(WriteKeyFile((dir_ / "no" / "such" / "dir.key").string(), KeyFromByte(5), false));
}

TEST(PeerKeyRingTest, AddRefusesDuplicatesAndMismatchedIds) {
  PeerKeyRing ring;
  NodeKey a = KeyFromByte(1), b = KeyFromByte(2);
  ASSERT_TRUE(ring.Add(Pin(a)));
  EXPECT_EQ(ring.Add(Pin(a)).error().code, "duplicate_key_id");
  PinnedKey mismatched = Pin(b);
  mismatched.key_id = a.key_id;
  EXPECT_EQ(ring.Add(mismatched).error().code, "key_id_mismatch");
  PinnedKey wrong_id = Pin(b);
  wrong_id.key_id = "ed25519:0000000000000000";
  EXPECT_EQ(ring.Add(wrong_id).error().code, "key_id_mismatch");
  EXPECT_EQ(ring.Add(Pin(b, T0(), T0() - std::chrono::milliseconds(1))).error().code,
            "invalid_key_window");
  EXPECT_EQ(ring.size(), 1u);
  ASSERT_TRUE(ring.Add(Pin(b, T0(), T0())));
  EXPECT_EQ(ring.size(), 2u);
}

TEST(PeerKeyRingTest, FindHonoursTheWindow) {
  PeerKeyRing ring;
  NodeKey a = KeyFromByte(1);
  const Timestamp from = T0(), until = T0() + std::chrono::hours(1);
  ASSERT_TRUE(ring.Add(Pin(a, from, until)));
  EXPECT_EQ(ring.Find(a.key_id, from - std::chrono::milliseconds(1)).error().code,
            "key_not_yet_valid");
  auto found = ring.Find(a.key_id, from);
  ASSERT_TRUE(found);
  EXPECT_EQ((*found)->public_key, a.public_key);
  EXPECT_TRUE(ring.Find(a.key_id, until));
  EXPECT_EQ(ring.Find(a.key_id, until + std::chrono::milliseconds(1)).error().code, "key_expired");
  auto unknown = ring.Find("ed25519:0000000000000000", from);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "unknown_key");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kUnauthenticated);
  // A hostile id is not echoed.
  auto hostile = ring.Find(std::string("\x1b[2J") + std::string(100, 'x'), from);
  ASSERT_FALSE(hostile);
  EXPECT_EQ(hostile.error().message.find('\x1b'), std::string::npos);
}

TEST(KeyChainTest, SigningKeyFollowsTheRotation) {
  NodeKey old_key = KeyFromByte(1), new_key = KeyFromByte(2);
  const Timestamp switch_at = T0() + std::chrono::hours(24);
  KeyChain chain;
  chain.Add(old_key);
  EXPECT_EQ(chain.SigningKey(T0()).key_id, old_key.key_id);
  chain.Add(new_key, switch_at);
  EXPECT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain.SigningKey(switch_at - std::chrono::milliseconds(1)).key_id, old_key.key_id);
  EXPECT_EQ(chain.SigningKey(switch_at).key_id, new_key.key_id);
  EXPECT_EQ(chain.SigningKey(switch_at + std::chrono::hours(100)).key_id, new_key.key_id);
  ASSERT_NE(chain.Find(old_key.key_id), nullptr);
  EXPECT_EQ(chain.Find(old_key.key_id)->public_key, old_key.public_key);
  EXPECT_EQ(chain.Find("ed25519:0000000000000000"), nullptr);

  // Only future keys: the one that becomes valid first.
  KeyChain future;
  future.Add(new_key, switch_at + std::chrono::hours(2));
  future.Add(old_key, switch_at);
  EXPECT_EQ(future.SigningKey(T0()).key_id, old_key.key_id);
}

}  // namespace
}  // namespace borderflow
