#include <cstring>

#include <openssl/evp.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/digest.h>

namespace borderflow {

namespace {

// Fetched once: OpenSSL 3 looks the implementation up in its provider on every
// EVP_sha256()-based init otherwise.
const EVP_MD* Sha256() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    BF_ASSERT(fetched != nullptr, "OpenSSL provides SHA-256");
    return fetched;
  }();
  return md;
}

std::string Hex(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(length * 2, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) { return Sha256Stream().Update(bytes).HexDigest(); }

struct Sha256Stream::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

// Taken by the next stream on this thread (EVP_DigestInit_ex2 on a context that already holds
// SHA-256 keeps its state block instead of allocating a new one).
thread_local std::unique_ptr<Sha256Stream::Ctx> Sha256Stream::spare_ctx_;

Sha256Stream::Sha256Stream() : ctx_(std::move(spare_ctx_)) {
  if (ctx_ == nullptr) ctx_ = std::make_unique<Ctx>();
  const bool ok = ctx_->md != nullptr && EVP_DigestInit_ex2(ctx_->md, Sha256(), nullptr) == 1;
  BF_ASSERT(ok, "SHA-256 initialises");
}

Sha256Stream::~Sha256Stream() {
  if (spare_ctx_ == nullptr) spare_ctx_ = std::move(ctx_);
}

void Sha256Stream::Flush() {
  const int ok = EVP_DigestUpdate(ctx_->md, buffer_, buffered_);
  BF_ASSERT(ok == 1, "SHA-256 update");
  buffered_ = 0;
}

Sha256Stream& Sha256Stream::Update(std::string_view bytes) {
  if (bytes.size() > sizeof buffer_ - buffered_) {
    if (buffered_ > 0) Flush();
    if (bytes.size() >= sizeof buffer_ / 2) {
      const int ok = EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
      BF_ASSERT(ok == 1, "SHA-256 update");
      return *this;
    }
  }
  std::memcpy(buffer_ + buffered_, bytes.data(), bytes.size());
  buffered_ += bytes.size();
  return *this;
}

std::string Sha256Stream::HexDigest() {
  if (buffered_ > 0) Flush();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const int ok = EVP_DigestFinal_ex(ctx_->md, digest, &length);
  BF_ASSERT(ok == 1, "SHA-256 final");
  return Hex(digest, length);
}

}  // namespace borderflow
