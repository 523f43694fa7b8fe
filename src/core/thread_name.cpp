#include <string>

#include <pthread.h>

#include <borderflow/core/thread_name.h>

namespace borderflow {

void NameThisThread(std::string_view name) {
  std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());  // best effort: a name is only a label
}

}  // namespace borderflow
