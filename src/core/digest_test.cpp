#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <borderflow/core/digest.h>

namespace borderflow {
namespace {

// FIPS 180-2 test vectors.
TEST(DigestTest, Sha256HexMatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Pieces of every size around the stream's buffer (small ones gathered, large ones passed
// straight through, and the switch between the two) hash like their concatenation.
TEST(DigestTest, StreamOfPiecesEqualsHashOfConcatenation) {
  for (size_t piece = 0; piece <= 600; piece += piece < 140 ? 1 : 37) {
    std::string all;
    Sha256Stream stream;
    for (int i = 0; i < 7; ++i) {
      std::string bytes(piece + static_cast<size_t>(i) * 13, static_cast<char>('a' + i));
      stream.Update(bytes);
      all += bytes;
    }
    EXPECT_EQ(stream.HexDigest(), Sha256Hex(all)) << "piece size " << piece;
  }
}

// Streams on one thread reuse a context; two alive at once and streams on other threads
// must not share one.
TEST(DigestTest, InterleavedStreamsAndThreadsAreIndependent) {
  Sha256Stream outer;
  outer.Update("ab");
  {
    Sha256Stream inner;
    inner.Update(std::string(300, 'x'));
    outer.Update("c");
    EXPECT_EQ(inner.HexDigest(), Sha256Hex(std::string(300, 'x')));
  }
  std::string from_thread;
  std::thread other([&] { from_thread = Sha256Stream().Update("a").Update("bc").HexDigest(); });
  other.join();
  EXPECT_EQ(outer.HexDigest(), Sha256Hex("abc"));
  EXPECT_EQ(from_thread, Sha256Hex("abc"));
  EXPECT_EQ(Sha256Stream().Update("abc").HexDigest(), Sha256Hex("abc"));
}

}  // namespace
}  // namespace borderflow
