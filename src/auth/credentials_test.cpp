#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/auth/credentials.h>

namespace borderflow {
namespace {

const Timestamp kNow = FromUnixMillis(1'795'000'000'000);
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool IsCrockford(std::string_view s) {
  for (char c : s) {
    if (kCrockford.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::vector<Role> AllRoles() {
  return {
#define ROLE_VALUE(name, text) Role::name,
      BORDERFLOW_ROLES(ROLE_VALUE)
#undef ROLE_VALUE
  };
}

UserRecord MustNewUser(std::string name, Role role, std::string company, Random& random,
                       std::string driver_document = {}) {
  auto user = NewUser(name, role, company, kNow, random, driver_document);
  EXPECT_TRUE(user.has_value()) << name << ": " << user.error().ToString();
  return user ? *user : UserRecord{};
}

void ExpectUserRefused(std::string name, Role role, std::string company, std::string_view code,
                       std::string_view field, std::string driver_document = {}) {
  SeededRandom random(1);
  auto user = NewUser(name, role, company, kNow, random, driver_document);
  ASSERT_FALSE(user.has_value()) << "accepted " << name << " as " << RoleName(role);
  EXPECT_EQ(user.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(user.error().code, code) << name << ": " << user.error().ToString();
  EXPECT_EQ(user.error().field, field) << name << ": " << user.error().ToString();
}

TEST(NewUserTest, ValidUser) {
  SeededRandom random(7);
  UserRecord u = MustNewUser("lan.nguyen", Role::kForwarder, "C-VINAFRUIT", random);
  EXPECT_EQ(u.name, "lan.nguyen");
  EXPECT_EQ(u.role, Role::kForwarder);
  EXPECT_EQ(u.company_id, "C-VINAFRUIT");
  EXPECT_EQ(u.created_at, kNow);
  ASSERT_EQ(u.id.size(), 17u);
  EXPECT_EQ(u.id[0], 'U');
  EXPECT_TRUE(IsCrockford(u.id.substr(1))) << u.id;
}

TEST(NewUserTest, Names) {
  SeededRandom random(1);
  for (const std::string& name : std::vector<std::string>{
           "abc", "a.b", "x_y-z.9", "customs-officer-01", std::string(64, 'a')}) {
    EXPECT_TRUE(NewUser(name, Role::kCustomsOfficer, "", kNow, random).has_value()) << name;
  }
  for (const std::string& name : std::vector<std::string>{"", "a", "ab", std::string(65, 'a')}) {
    ExpectUserRefused(name, Role::kCustomsOfficer, "", "invalid_user_name", "name");
  }
  for (const std::string& name :
       std::vector<std::string>{"Alice", "lan nguyen", "lan@vinafruit", "a/b", "lan+1", "nguyễn",
                                "王伟王伟", "tab\tname", std::string("nul\0x", 5), "semi;colon"}) {
    ExpectUserRefused(name, Role::kCustomsOfficer, "", "invalid_user_name", "name");
  }
}

TEST(NewUserTest, NoUserForTheSystemOrTheCounterpartNode) {
  SeededRandom random(3);
  for (Role role : {Role::kSystem, Role::kCounterpart}) {
    auto user = NewUser("someone", role, "", kNow, random);
    ASSERT_FALSE(user) << RoleName(role);
    EXPECT_EQ(user.error().code, "invalid_role");
    EXPECT_EQ(user.error().field, "role");
  }
}

TEST(NewUserTest, CompanyRequiredExactlyForCompanyScopedRoles) {
  SeededRandom random(1);
  for (Role role : AllRoles()) {
    if (role == Role::kSystem || role == Role::kCounterpart) continue;
    SCOPED_TRACE(std::string(RoleName(role)));
    bool scoped = role == Role::kForwarder || role == Role::kDriver;
    if (scoped) {
      ExpectUserRefused("someone", role, "", "missing_company", "company_id");
      UserRecord u =
          MustNewUser("someone", role, "C1", random, role == Role::kDriver ? "B1234567" : "");
      EXPECT_EQ(u.company_id, "C1");
    } else {
      ExpectUserRefused("someone", role, "C1", "unexpected_company", "company_id");
      UserRecord u = MustNewUser("someone", role, "", random);
      EXPECT_EQ(u.company_id, "");
    }
  }
  // Ids, not names: no spaces, markup or control characters.
  for (const char* company :
       {"a b<script>", " FRUITCO", "-FRUITCO", "FRUIT\nCO", "FRUITCO/2", "Công ty"}) {
    ExpectUserRefused("someone", Role::kForwarder, company, "invalid_company", "company_id");
  }
  for (const char* company : {"FRUITCO", "VN-0101234567", "cn-youyiguan:FRUITCO", "a.b_c"}) {
    EXPECT_EQ(MustNewUser("someone", Role::kForwarder, company, random).company_id, company);
  }
  ExpectUserRefused("someone", Role::kDriver, std::string(65, 'c'), "invalid_company",
                    "company_id");
  EXPECT_TRUE(NewUser("someone", Role::kDriver, std::string(64, 'c'), kNow, random, "B1234567")
                  .has_value());
}

TEST(NewUserTest, DriverDocumentRequiredExactlyForDrivers) {
  SeededRandom random(1);
  // A driver sees the crossings that name them, so a driver without a document would see none.
  ExpectUserRefused("an.driver", Role::kDriver, "FRUITCO", "missing_driver_document",
                    "driver_document");
  UserRecord u = MustNewUser("an.driver", Role::kDriver, "FRUITCO", random, "B0004711");
  EXPECT_EQ(u.driver_document, "B0004711");
  Actor actor = u.ToActor();
  EXPECT_EQ(actor.driver_document, "B0004711");
  EXPECT_EQ(actor.company_id, "FRUITCO");
  EXPECT_EQ(actor.role, Role::kDriver);
  for (Role role : AllRoles()) {
    if (role == Role::kDriver || role == Role::kSystem || role == Role::kCounterpart) continue;
    SCOPED_TRACE(std::string(RoleName(role)));
    bool scoped = role == Role::kForwarder;
    ExpectUserRefused("someone", role, scoped ? "C1" : "", "unexpected_driver_document",
                      "driver_document", "B0004711");
  }
  // The bounds of a declaration's driver.document_number, which it must equal.
  EXPECT_EQ(MustNewUser("b.driver", Role::kDriver, "C1", random, std::string(32, 'B'))
                .driver_document.size(),
            32u);
  for (std::string bad : {std::string(33, 'B'), std::string("B12\n34"),
                          std::string("B\x7f"
                                      "1")}) {
    ExpectUserRefused("c.driver", Role::kDriver, "C1", "invalid_driver_document", "driver_document",
                      bad);
  }
}

TEST(NewUserTest, SystemRoleRefused) {
  ExpectUserRefused("system", Role::kSystem, "", "invalid_role", "role");
  ExpectUserRefused("robot", Role::kSystem, "", "invalid_role", "role");
}

TEST(NewUserTest, DeterministicWithSeededRandom) {
  SeededRandom a(42);
  SeededRandom b(42);
  SeededRandom c(43);
  UserRecord ua = MustNewUser("anna", Role::kGateOperator, "", a);
  UserRecord ub = MustNewUser("anna", Role::kGateOperator, "", b);
  UserRecord uc = MustNewUser("anna", Role::kGateOperator, "", c);
  EXPECT_EQ(ua.id, ub.id);
  EXPECT_NE(ua.id, uc.id);
  // The next user from the same generator gets a new id.
  EXPECT_NE(MustNewUser("anna2", Role::kGateOperator, "", a).id, ua.id);

  // A refused user consumes no randomness.
  SeededRandom d(42);
  EXPECT_FALSE(NewUser("X", Role::kGateOperator, "", kNow, d).has_value());
  EXPECT_EQ(MustNewUser("anna", Role::kGateOperator, "", d).id, ua.id);
}

// --- Tokens --------------------------------------------------------------------------------

class TokenTest : public ::testing::Test {
 protected:
  SeededRandom random_{2026};
  UserRecord user_ = MustNewUser("lan.nguyen", Role::kForwarder, "C1", random_);
};

TEST_F(TokenTest, IssuedTokenShape) {
  const Timestamp expires = kNow + std::chrono::hours(24 * 90);
  IssuedToken t = IssueToken(user_, "laptop", expires, kNow, random_);
  // "bft_" + 12 + "." + 40
  ASSERT_EQ(t.token.size(), 4u + 12 + 1 + 40) << t.token;
  EXPECT_TRUE(t.token.starts_with("bft_"));
  EXPECT_EQ(t.token[16], '.');
  EXPECT_TRUE(IsCrockford(t.token.substr(4, 12))) << t.token;
  EXPECT_TRUE(IsCrockford(t.token.substr(17))) << t.token;

  EXPECT_EQ(t.record.id, t.token.substr(4, 12));
  EXPECT_EQ(t.record.user_id, user_.id);
  EXPECT_EQ(t.record.label, "laptop");
  EXPECT_EQ(t.record.created_at, kNow);
  EXPECT_EQ(t.record.expires_at, expires);
  EXPECT_FALSE(t.record.revoked_at.has_value());

  // Only the hash of the secret is stored.
  std::string secret = t.token.substr(17);
  EXPECT_EQ(t.record.secret_hash, HashSecret(secret));
  EXPECT_EQ(t.record.secret_hash.size(), 64u);
  EXPECT_EQ(t.record.secret_hash.find(secret), std::string::npos);
  EXPECT_EQ(t.record.id.find(secret), std::string::npos);
}

TEST_F(TokenTest, HashSecretIsSha256Hex) {
  EXPECT_EQ(HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashSecret(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(TokenTest, ParseAndMatch) {
  IssuedToken t = IssueToken(user_, "cli", std::nullopt, kNow, random_);
  auto parts = ParseToken(t.token);
  ASSERT_TRUE(parts.has_value()) << parts.error().ToString();
  EXPECT_EQ(parts->id, t.record.id);
  EXPECT_EQ(parts->secret, t.token.substr(17));
  EXPECT_TRUE(TokenMatches(t.record, parts->secret, kNow));
  // No expiry: valid years later.
  EXPECT_TRUE(TokenMatches(t.record, parts->secret, kNow + std::chrono::hours(24 * 365 * 10)));
}

TEST_F(TokenTest, WrongSecretDoesNotMatch) {
  IssuedToken t = IssueToken(user_, "a", std::nullopt, kNow, random_);
  IssuedToken other = IssueToken(user_, "b", std::nullopt, kNow, random_);
  std::string secret = t.token.substr(17);
  std::string other_secret = other.token.substr(17);
  EXPECT_NE(secret, other_secret);
  EXPECT_NE(t.record.id, other.record.id);
  EXPECT_FALSE(TokenMatches(t.record, other_secret, kNow));
  EXPECT_FALSE(TokenMatches(t.record, "", kNow));
  EXPECT_FALSE(TokenMatches(t.record, secret.substr(0, 39), kNow));
  EXPECT_FALSE(TokenMatches(t.record, secret + "0", kNow));
  std::string flipped = secret;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(TokenMatches(t.record, flipped, kNow));
  // The stored hash is not itself a credential.
  EXPECT_FALSE(TokenMatches(t.record, t.record.secret_hash, kNow));
  // A record with an empty or corrupt hash matches nothing.
  TokenRecord corrupt = t.record;
  corrupt.secret_hash = "";
  EXPECT_FALSE(TokenMatches(corrupt, secret, kNow));
  corrupt.secret_hash = t.record.secret_hash.substr(0, 63);
  EXPECT_FALSE(TokenMatches(corrupt, secret, kNow));
}

TEST_F(TokenTest, RevokedTokenDoesNotMatch) {
  IssuedToken t = IssueToken(user_, "a", std::nullopt, kNow, random_);
  std::string secret = t.token.substr(17);
  TokenRecord revoked = t.record;
  revoked.revoked_at = kNow + std::chrono::minutes(5);
  // Revocation is final, whatever its timestamp says.
  EXPECT_FALSE(TokenMatches(revoked, secret, kNow));
  EXPECT_FALSE(TokenMatches(revoked, secret, kNow + std::chrono::hours(1)));
}

TEST_F(TokenTest, ExpiredTokenDoesNotMatch) {
  const Timestamp expires = kNow + std::chrono::hours(1);
  IssuedToken t = IssueToken(user_, "a", expires, kNow, random_);
  std::string secret = t.token.substr(17);
  EXPECT_TRUE(TokenMatches(t.record, secret, expires - std::chrono::milliseconds(1)));
  EXPECT_FALSE(TokenMatches(t.record, secret, expires));  // expiry is exclusive
  EXPECT_FALSE(TokenMatches(t.record, secret, expires + std::chrono::hours(1)));
}

TEST_F(TokenTest, MalformedTokensRefused) {
  IssuedToken t = IssueToken(user_, "a", std::nullopt, kNow, random_);
  const std::string good = t.token;
  const std::string id = good.substr(4, 12);
  const std::string secret = good.substr(17);
  auto with = [&](size_t pos, char c) {
    std::string s = good;
    s[pos] = c;
    return s;
  };
  const std::vector<std::string> bad = {
      "",
      "bft_",
      "bft_.",
      "bft",
      id + "." + secret,                      // no prefix
      "BFT_" + id + "." + secret,             // prefix case
      "bfx_" + id + "." + secret,             // other prefix
      "bft-" + id + "." + secret,             // other separator
      "bft_" + id + secret,                   // no dot (one short)
      "bft_" + id + "0" + secret,             // dot replaced
      "bft_" + id.substr(1) + ".0" + secret,  // dot one place early
      "bft_" + id + "0." + secret.substr(1),  // dot one place late
      "bft_" + id + "." + secret + "0",       // secret too long
      "bft_" + id + "." + secret.substr(1),   // secret too short
      "bft_" + id + "." + secret + ".",       // extra segment
      "bft_" + id + ".." + secret.substr(1),
      " " + good,  // whitespace
      good + " ",
      good + "\n",
      "Bearer " + good,  // header value instead of token
      with(4, 'a'),      // lower case in the id
      with(30, 'z'),     // lower case in the secret
      with(10, '-'),
      with(30, '='),
      with(30, '/'),
      with(10, '\0'),
      with(30, '\xC3'),
      with(10, 'I'),  // not in the Crockford alphabet
      with(30, 'L'),
      with(30, 'O'),
      with(10, 'U'),
      std::string(1000, 'A'),
  };
  for (const std::string& token : bad) {
    auto parts = ParseToken(token);
    ASSERT_FALSE(parts.has_value()) << "accepted '" << token << "'";
    EXPECT_EQ(parts.error().kind, ErrorKind::kUnauthenticated) << token;
    EXPECT_EQ(HttpStatusFor(parts.error().kind), 401);
    EXPECT_EQ(parts.error().code, "invalid_token") << token;
    // The error never echoes the token or its secret.
    EXPECT_EQ(parts.error().message.find(secret.substr(0, 8)), std::string::npos);
    EXPECT_EQ(parts.error().message.find(id), std::string::npos);
    if (token.size() >= 8) {
      EXPECT_EQ(parts.error().ToString().find(token.substr(token.size() - 8)), std::string::npos)
          << token;
    }
  }
  EXPECT_TRUE(ParseToken(good).has_value());
}

TEST_F(TokenTest, DeterministicWithSeededRandom) {
  SeededRandom a(99);
  SeededRandom b(99);
  IssuedToken ta = IssueToken(user_, "x", std::nullopt, kNow, a);
  IssuedToken tb = IssueToken(user_, "x", std::nullopt, kNow, b);
  EXPECT_EQ(ta.token, tb.token);
  EXPECT_EQ(ta.record.id, tb.record.id);
  EXPECT_EQ(ta.record.secret_hash, tb.record.secret_hash);
  IssuedToken ta2 = IssueToken(user_, "x", std::nullopt, kNow, a);
  EXPECT_NE(ta2.token, ta.token);

  // Many tokens from one generator are all distinct.
  std::set<std::string> ids;
  std::set<std::string> tokens;
  for (int i = 0; i < 200; ++i) {
    IssuedToken t = IssueToken(user_, "bulk", std::nullopt, kNow, a);
    ids.insert(t.record.id);
    tokens.insert(t.token);
    EXPECT_TRUE(ParseToken(t.token).has_value()) << t.token;
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(tokens.size(), 200u);
}

TEST_F(TokenTest, SystemRandomTokensParse) {
  SystemRandom random;
  IssuedToken t = IssueToken(user_, "sys", std::nullopt, kNow, random);
  auto parts = ParseToken(t.token);
  ASSERT_TRUE(parts.has_value());
  EXPECT_TRUE(TokenMatches(t.record, parts->secret, kNow));
}

}  // namespace
}  // namespace borderflow
