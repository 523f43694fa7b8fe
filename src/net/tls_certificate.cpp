// Self-signed certificates (OpenSSL 3 EVP and X509 APIs) and PEM file helpers.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <borderflow/net/tls.h>

namespace borderflow::net {

namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// The OpenSSL error queue as text (and cleared), for Internal errors.
std::string OpenSslErrors(std::string_view what) {
  std::string out(what);
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("tls_file_unreadable",
                           "cannot open " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InvalidArgument("tls_file_unreadable", "cannot read " + path);
  return text.str();
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return Error(ErrorKind::kInternal, "tls_file_unwritable",
                 "cannot create " + path + ": " + std::strerror(errno));
  }
  // An existing file keeps its mode through O_CREAT; tighten it explicitly.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    return Error(ErrorKind::kInternal, "tls_file_unwritable",
                 "cannot write " + path + ": " + std::strerror(saved ? saved : errno));
  }
  return {};
}

}  // namespace

Result<TlsServerOptions> LoadTlsServerOptions(const std::string& certificate_chain_file,
                                              const std::string& private_key_file) {
  TlsServerOptions options;
  BF_ASSIGN_OR_RETURN(options.certificate_chain_pem, ReadFile(certificate_chain_file));
  BF_ASSIGN_OR_RETURN(options.private_key_pem, ReadFile(private_key_file));
  return options;
}

Result<SelfSignedCertificate> MakeSelfSignedCertificate(std::string common_name, int days) {
  if (common_name.empty() || common_name.size() > 64 ||
      common_name.find_first_of(",\r\n") != std::string::npos) {
    return InvalidArgument("invalid_argument",
                           "common name must be 1..64 bytes without commas or line breaks");
  }
  if (days < 1 || days > 36500) {
    return InvalidArgument("invalid_argument", "days must be within 1..36500");
  }
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Internal(OpenSslErrors("EC key generation failed"));

  X509Ptr cert(X509_new());
  if (!cert) return Internal(OpenSslErrors("X509_new failed"));
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1;

  // A random positive 127-bit serial number.
  BnPtr serial(BN_new());
  ok = ok && serial && BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
       BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr;

  // Valid from an hour ago, so that a counterpart whose clock is a little behind accepts it.
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
       X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) != nullptr;

  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key.get()) == 1;
  if (!ok) return Internal(OpenSslErrors("cannot fill the certificate"));

  std::string san = "DNS:localhost,IP:127.0.0.1";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(common_name, ec);
  if (!ec) {
    if (address != boost::asio::ip::make_address("127.0.0.1")) san += ",IP:" + common_name;
  } else if (common_name != "localhost") {
    san += ",DNS:" + common_name;
  }
  ok = AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") &&
       AddExtension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth") &&
       AddExtension(cert.get(), NID_subject_key_identifier, "hash") &&
       AddExtension(cert.get(), NID_subject_alt_name, san);
  if (!ok) return Internal(OpenSslErrors("cannot add certificate extensions"));

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return Internal(OpenSslErrors("cannot sign the certificate"));
  }

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return Internal(OpenSslErrors("cannot encode PEM"));
  }
  return SelfSignedCertificate{BioText(cert_bio.get()), BioText(key_bio.get())};
}

Status WritePemFiles(const SelfSignedCertificate& certificate, const std::string& certificate_file,
                     const std::string& private_key_file) {
  BF_TRY(WriteFile(private_key_file, certificate.private_key_pem, 0600));
  return WriteFile(certificate_file, certificate.certificate_pem, 0644);
}

}  // namespace borderflow::net
