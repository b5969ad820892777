// Values built once per key and shared by threads (the DSP's filters per
// tuning, kept by a features node between songs). A value is built outside
// the lock, so other threads keep going; when two threads build the same key
// at once, the first one stored is kept and both get it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace mer {

template <class Key, class Value>
class BuiltOnce {
public:
    // The value for `key`, built by `build()` (returning a Value) the first time.
    template <class Build>
    std::shared_ptr<const Value> get(const Key& key, Build&& build) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (const auto hit = values_.find(key); hit != values_.end()) return hit->second;
        }
        auto built = std::make_shared<const Value>(build());
        const std::lock_guard<std::mutex> lock(mutex_);
        return values_.emplace(key, std::move(built)).first->second;
    }

private:
    std::mutex mutex_;
    std::map<Key, std::shared_ptr<const Value>> values_;
};

}  // namespace mer
