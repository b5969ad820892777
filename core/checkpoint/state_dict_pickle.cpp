// A strict pickle interpreter for torch.save state dicts (see the header).
// It runs the pickle machine over values of its own — no object is ever
// constructed from a name in the file: a global is only compared with an
// allow-list, and "calling" one builds an inert value (a dict, a tensor
// description, or an opaque placeholder for a numpy array in the training
// extras, which is never looked inside). Values live in one arena owned by
// the machine and point at each other plainly: a list may hold itself and
// nesting may go a million deep, and neither leaks nor recurses on the way out.
#include "core/checkpoint/state_dict_pickle.hpp"

#include <fmt/format.h>

#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"

namespace mer {

namespace {

// Bounds that no state dict comes near and that keep a hostile file small.
// kMaxValues counts every value made and every element copied out of one
// (see spend()): torch.save spends about 34 on a 4-d tensor, so it allows
// some 100 000 tensors, and the worst 1 MB file we know stops at it after
// 0.15 s and 80 MB (bench/fuzz/make-pickle-worst-cases.py).
constexpr std::size_t kMaxValues = 4'000'000;
constexpr std::size_t kMaxMemo = 10'000'000;
constexpr int kMaxDims = 64;
// torch.save names storages by number ("0", "1", …); every tensor on a storage
// carries a copy of its key, so a long one would be copied once per use.
constexpr std::size_t kMaxStorageKey = 256;

struct Value;
using ValuePtr = Value*;  // into Machine::values_, which owns every value

struct Value {
    enum class Kind { none, boolean, integer, real, text, bytes, tuple, list, dict, global, storage, tensor, opaque, mark };
    Kind kind = Kind::none;
    std::int64_t integer = 0;
    double real = 0;
    std::string text;                // text, bytes; global: "module.name"; storage: its key
    std::vector<ValuePtr> items;     // tuple, list; dict: key, value, key, value, …
    // tensor; storage: dtype, element_bytes, storage_elements (apart: most values are not tensors)
    std::unique_ptr<PickledTensor> tensor;
};

const char* kind_name(Value::Kind k) {
    switch (k) {
        case Value::Kind::none: return "None";
        case Value::Kind::boolean: return "a bool";
        case Value::Kind::integer: return "an int";
        case Value::Kind::real: return "a float";
        case Value::Kind::text: return "a string";
        case Value::Kind::bytes: return "bytes";
        case Value::Kind::tuple: return "a tuple";
        case Value::Kind::list: return "a list";
        case Value::Kind::dict: return "a dict";
        case Value::Kind::global: return "a Python global";
        case Value::Kind::storage: return "a storage";
        case Value::Kind::tensor: return "a tensor";
        case Value::Kind::opaque: return "a numpy array or set";
        case Value::Kind::mark: return "a mark";
    }
    return "?";
}

// Storage classes torch.save names in a storage's persistent id.
struct StorageType {
    const char* name;
    const char* dtype;
    std::size_t bytes;
};
constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", "float32", 4},    {"torch.DoubleStorage", "float64", 8},
    {"torch.HalfStorage", "float16", 2},     {"torch.BFloat16Storage", "bfloat16", 2},
    {"torch.LongStorage", "int64", 8},       {"torch.IntStorage", "int32", 4},
    {"torch.ShortStorage", "int16", 2},      {"torch.CharStorage", "int8", 1},
    {"torch.ByteStorage", "uint8", 1},       {"torch.BoolStorage", "bool", 1},
};

// Globals whose "call" builds a value mer understands.
constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
// Globals of training extras (numpy arrays and scalars, sets): allowed, but
// what they build is opaque and may not appear in the state dict.
constexpr const char* kInertGlobals[] = {
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "_codecs.encode", "builtins.set",
    "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset"};

bool is_storage_type(const std::string& name) {
    for (const auto& t : kStorageTypes)
        if (name == t.name) return true;
    return false;
}
bool is_inert(const std::string& name) {
    for (const char* g : kInertGlobals)
        if (name == g) return true;
    return false;
}

class Machine {
public:
    Machine(const std::string& bytes, std::string file) : in_(bytes), file_(std::move(file)) {}

    ValuePtr run() {
        while (true) {
            const std::size_t at = pos_;
            const auto op = static_cast<unsigned char>(byte());
            if (op == '.') break;  // STOP
            step(op, at);
        }
        if (stack_.size() != 1 || !marks_.empty()) fail("the pickle does not end with exactly one value");
        return stack_.back();
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw Error(fmt::format("cannot read the checkpoint's data.pkl: {} (byte {})", why, pos_), Location(file_));
    }

    char byte() {
        if (pos_ >= in_.size()) fail("it ends before its STOP opcode");
        return in_[pos_++];
    }
    std::string take(std::uint64_t n) {
        if (n > in_.size() - pos_) fail("a length runs past the end of the pickle");
        std::string s = in_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }
    std::uint64_t little(int n) {
        const std::string b = take(static_cast<std::uint64_t>(n));
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
        return v;
    }
    std::string line() {
        const std::size_t end = in_.find('\n', pos_);
        if (end == std::string::npos) fail("a GLOBAL opcode without its newline");
        std::string s = in_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return s;
    }

    // Most opcodes make one value from the input's bytes; the few that copy
    // elements of a value already made (which a memoized value lets a pickle
    // do again and again, for two bytes each time) pay for each element too,
    // so that no file costs more than kMaxValues in time or memory.
    void spend(std::size_t n) {
        if (n > kMaxValues - made_) fail("it holds more values than any state dict");
        made_ += n;
    }

    ValuePtr make(Value::Kind kind) {
        spend(1);
        ValuePtr v = &values_.emplace_back();
        v->kind = kind;
        return v;
    }
    ValuePtr make_int(std::int64_t i) {
        auto v = make(Value::Kind::integer);
        v->integer = i;
        return v;
    }
    ValuePtr make_text(Value::Kind kind, std::string s) {
        auto v = make(kind);
        v->text = std::move(s);
        return v;
    }

    void push(ValuePtr v) { stack_.push_back(std::move(v)); }
    ValuePtr pop() {
        if (stack_.size() <= base()) fail("an opcode takes more values than the stack holds");
        ValuePtr v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    ValuePtr& top() {
        if (stack_.size() <= base()) fail("an opcode needs a value and the stack is empty");
        return stack_.back();
    }
    std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
    // The values pushed since the last MARK, which is removed.
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty()) fail("an opcode needs a MARK and there is none");
        const std::size_t from = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(from), stack_.end());
        stack_.resize(from);
        return items;
    }

    void memo_put(std::uint64_t index) {
        if (index >= kMaxMemo) fail("a memo index beyond any state dict's");
        memo_[index] = top();
    }
    ValuePtr memo_get(std::uint64_t index) {
        const auto it = memo_.find(index);
        if (it == memo_.end()) fail(fmt::format("memo entry {} is read before it is written", index));
        return it->second;
    }

    ValuePtr global(const std::string& module, const std::string& name) {
        const std::string full = module + "." + name;
        if (full != kOrderedDict && full != kRebuildTensor && full != kRebuildParameter && !is_storage_type(full) &&
            !is_inert(full))
            throw Error(fmt::format("the checkpoint's pickle names the Python global '{}'; mer reads only tensors, "
                                    "numbers, strings and containers from a checkpoint, so it does not load this "
                                    "file (nothing in it was run)",
                                    full),
                        Location(file_));
        return make_text(Value::Kind::global, full);
    }

    std::int64_t as_int(const ValuePtr& v, const char* what) const {
        if (v->kind != Value::Kind::integer) fail(fmt::format("{} is {}, not an int", what, kind_name(v->kind)));
        return v->integer;
    }
    std::vector<std::int64_t> as_ints(const ValuePtr& v, const char* what) {
        if (v->kind != Value::Kind::tuple && v->kind != Value::Kind::list)
            fail(fmt::format("{} is {}, not a tuple", what, kind_name(v->kind)));
        if (v->items.size() > static_cast<std::size_t>(kMaxDims)) fail(fmt::format("{} has too many dimensions", what));
        spend(v->items.size());
        std::vector<std::int64_t> out;
        for (const auto& item : v->items) out.push_back(as_int(item, what));
        return out;
    }

    // ('storage', torch.FloatStorage, key, location, elements)
    ValuePtr persistent(const ValuePtr& pid) {
        if (pid->kind != Value::Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Kind::text ||
            pid->items[0]->text != "storage" || pid->items[1]->kind != Value::Kind::global ||
            pid->items[2]->kind != Value::Kind::text)
            fail("a persistent id that is not a storage reference ('storage', type, key, location, size)");
        const std::string& type = pid->items[1]->text;
        if (pid->items[2]->text.size() > kMaxStorageKey)
            fail(fmt::format("a storage key of {} bytes, where torch.save numbers its storages",
                             pid->items[2]->text.size()));
        auto v = make_text(Value::Kind::storage, pid->items[2]->text);
        const StorageType* found = nullptr;
        for (const auto& t : kStorageTypes)
            if (type == t.name) found = &t;
        if (!found) fail("a storage of type '" + type + "'");
        v->tensor = std::make_unique<PickledTensor>();
        v->tensor->dtype = found->dtype;
        v->tensor->element_bytes = found->bytes;
        v->tensor->storage_elements = as_int(pid->items[4], "a storage's size");
        if (v->tensor->storage_elements < 0) fail("a storage with a negative size");
        // Its byte size must be a number too: the loader compares it with the record's.
        if (v->tensor->storage_elements >
            std::numeric_limits<std::int64_t>::max() / static_cast<std::int64_t>(found->bytes))
            fail(fmt::format("a storage of {} {} elements, more bytes than any file holds", v->tensor->storage_elements,
                             found->dtype));
        return v;
    }

    ValuePtr call(const ValuePtr& callable, const ValuePtr& args) {
        if (callable->kind != Value::Kind::global) fail("REDUCE on " + std::string(kind_name(callable->kind)));
        if (args->kind != Value::Kind::tuple) fail("REDUCE with arguments that are not a tuple");
        const std::string& name = callable->text;
        if (name == kOrderedDict) {
            auto d = make(Value::Kind::dict);
            if (!args->items.empty()) {  // OrderedDict([(key, value), …])
                const ValuePtr& pairs = args->items[0];
                if (pairs->kind != Value::Kind::list && pairs->kind != Value::Kind::tuple)
                    fail("OrderedDict built from " + std::string(kind_name(pairs->kind)));
                spend(pairs->items.size());
                for (const auto& pair : pairs->items) {
                    if ((pair->kind != Value::Kind::tuple && pair->kind != Value::Kind::list) || pair->items.size() != 2)
                        fail("OrderedDict built from something other than (key, value) pairs");
                    d->items.push_back(pair->items[0]);
                    d->items.push_back(pair->items[1]);
                }
            }
            return d;
        }
        if (name == kRebuildTensor) {  // (storage, offset, size, stride, requires_grad, hooks[, metadata])
            if (args->items.size() < 4 || args->items[0]->kind != Value::Kind::storage)
                fail("_rebuild_tensor_v2 without (storage, offset, size, stride)");
            auto t = make(Value::Kind::tensor);
            t->tensor = std::make_unique<PickledTensor>(*args->items[0]->tensor);
            t->tensor->storage = args->items[0]->text;
            t->tensor->offset = as_int(args->items[1], "a tensor's storage offset");
            t->tensor->sizes = as_ints(args->items[2], "a tensor's size");
            t->tensor->strides = as_ints(args->items[3], "a tensor's stride");
            return t;
        }
        if (name == kRebuildParameter) {  // (tensor, requires_grad, hooks)
            if (args->items.empty() || args->items[0]->kind != Value::Kind::tensor)
                fail("_rebuild_parameter without a tensor");
            return args->items[0];
        }
        if (is_inert(name)) return make(Value::Kind::opaque);
        fail("a call of '" + name + "'");
    }

    void set_items(const ValuePtr& target, std::vector<ValuePtr> items) {
        if (items.size() % 2 != 0) fail("SETITEMS with a key without its value");
        if (target->kind == Value::Kind::opaque) return;
        if (target->kind != Value::Kind::dict) fail("SETITEM on " + std::string(kind_name(target->kind)));
        for (auto& item : items) target->items.push_back(std::move(item));
    }
    void append(const ValuePtr& target, std::vector<ValuePtr> items) {
        if (target->kind == Value::Kind::opaque) return;
        if (target->kind != Value::Kind::list) fail("APPEND on " + std::string(kind_name(target->kind)));
        for (auto& item : items) target->items.push_back(std::move(item));
    }

    // LONG1's operand: a little-endian two's-complement int of n bytes.
    ValuePtr long1() {
        const auto n = static_cast<int>(little(1));
        if (n > 8) {  // an int beyond 64 bits: only a training extra can hold one
            take(static_cast<std::uint64_t>(n));
            return make(Value::Kind::opaque);
        }
        std::uint64_t v = n ? little(n) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);  // sign
        std::int64_t s;
        std::memcpy(&s, &v, sizeof s);
        return make_int(s);
    }

    // BINFLOAT's operand: an IEEE double, big-endian.
    ValuePtr binfloat() {
        const std::string b = take(8);
        std::uint64_t bits = 0;
        for (char c : b) bits = (bits << 8) | static_cast<unsigned char>(c);
        auto v = make(Value::Kind::real);
        std::memcpy(&v->real, &bits, sizeof bits);
        return v;
    }

    // One opcode. This stays one switch of over 100 lines on purpose (issue
    // 31): it is the VM's opcode table, one case per opcode torch.save
    // writes, and every opcode it does not list is refused by the default.
    // Split by opcode family, "which opcodes does mer accept" would have to be
    // gathered from several functions; a case that does more than push or pop
    // calls a named helper (global, call, persistent, set_items, long1, ...).
    void step(unsigned char op, std::size_t at) {
        switch (op) {
            case 0x80: byte(); break;           // PROTO
            case 0x95: little(8); break;        // FRAME: a size hint
            case 'c': {                          // GLOBAL module\nname\n
                const std::string module = line();
                push(global(module, line()));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                const ValuePtr name = pop(), module = pop();
                if (name->kind != Value::Kind::text || module->kind != Value::Kind::text)
                    fail("STACK_GLOBAL without two strings");
                push(global(module->text, name->text));
                break;
            }
            case '}': push(make(Value::Kind::dict)); break;
            case ']': push(make(Value::Kind::list)); break;
            case ')': push(make(Value::Kind::tuple)); break;
            case 0x8f: push(make(Value::Kind::opaque)); break;  // EMPTY_SET
            case '(':
                if (marks_.size() >= kMaxMemo) fail("too many MARKs");
                marks_.push_back(stack_.size());
                break;
            case 'X': push(make_text(Value::Kind::text, take(little(4)))); break;     // BINUNICODE
            case 0x8c: push(make_text(Value::Kind::text, take(little(1)))); break;    // SHORT_BINUNICODE
            case 0x8d: push(make_text(Value::Kind::text, take(little(8)))); break;    // BINUNICODE8
            case 'T': push(make_text(Value::Kind::text, take(little(4)))); break;     // BINSTRING
            case 'U': push(make_text(Value::Kind::text, take(little(1)))); break;     // SHORT_BINSTRING
            case 'B': push(make_text(Value::Kind::bytes, take(little(4)))); break;    // BINBYTES
            case 'C': push(make_text(Value::Kind::bytes, take(little(1)))); break;    // SHORT_BINBYTES
            case 0x8e: push(make_text(Value::Kind::bytes, take(little(8)))); break;   // BINBYTES8
            case 'q': memo_put(little(1)); break;                                      // BINPUT
            case 'r': memo_put(little(4)); break;                                      // LONG_BINPUT
            case 0x94: memo_put(memo_.size()); break;                                  // MEMOIZE
            case 'h': push(memo_get(little(1))); break;                                // BINGET
            case 'j': push(memo_get(little(4))); break;                                // LONG_BINGET
            case 'J': push(make_int(static_cast<std::int32_t>(little(4)))); break;     // BININT
            case 'K': push(make_int(static_cast<std::int64_t>(little(1)))); break;     // BININT1
            case 'M': push(make_int(static_cast<std::int64_t>(little(2)))); break;     // BININT2
            case 0x8a: push(long1()); break;                                           // LONG1
            case 'G': push(binfloat()); break;                                         // BINFLOAT
            case 0x88:
            case 0x89: {  // NEWTRUE, NEWFALSE
                auto v = make(Value::Kind::boolean);
                v->integer = op == 0x88;
                push(v);
                break;
            }
            case 'N': push(make(Value::Kind::none)); break;
            case 't': {  // TUPLE
                auto v = make(Value::Kind::tuple);
                v->items = pop_mark();
                push(v);
                break;
            }
            case 0x85:
            case 0x86:
            case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
                auto v = make(Value::Kind::tuple);
                v->items.resize(op - 0x84u);
                for (auto it = v->items.rbegin(); it != v->items.rend(); ++it) *it = pop();
                push(v);
                break;
            }
            case 's': {  // SETITEM
                ValuePtr value = pop(), key = pop();
                set_items(top(), {key, value});
                break;
            }
            case 'u': {  // SETITEMS
                auto items = pop_mark();
                set_items(top(), std::move(items));
                break;
            }
            case 'a': {  // APPEND
                ValuePtr value = pop();
                append(top(), {value});
                break;
            }
            case 'e': {  // APPENDS
                auto items = pop_mark();
                append(top(), std::move(items));
                break;
            }
            case 0x90: {  // ADDITEMS (to a set: opaque)
                pop_mark();
                if (top()->kind != Value::Kind::opaque) fail("ADDITEMS on something other than a set");
                break;
            }
            case 0x91: pop_mark(); push(make(Value::Kind::opaque)); break;  // FROZENSET
            case 'R': {  // REDUCE
                ValuePtr args = pop(), callable = pop();
                push(call(callable, args));
                break;
            }
            case 0x81: {  // NEWOBJ: cls.__new__(cls, *args), only for the inert globals
                pop();
                const ValuePtr cls = pop();
                if (cls->kind != Value::Kind::global || !is_inert(cls->text)) fail("NEWOBJ of something not inert");
                push(make(Value::Kind::opaque));
                break;
            }
            case 'b': {  // BUILD: state for an object; mer's values take none
                pop();
                const ValuePtr& target = top();
                if (target->kind != Value::Kind::opaque && target->kind != Value::Kind::dict &&
                    target->kind != Value::Kind::tensor)
                    fail("BUILD on " + std::string(kind_name(target->kind)));
                break;
            }
            case 'Q': push(persistent(pop())); break;  // BINPERSID
            case '0': pop(); break;                     // POP
            case '1': pop_mark(); break;                // POP_MARK
            case '2': push(top()); break;               // DUP
            default:
                pos_ = at;
                fail(fmt::format("opcode 0x{:02x}, which torch.save does not write", op));
        }
    }

    const std::string& in_;
    std::string file_;
    std::size_t pos_ = 0;
    std::size_t made_ = 0;
    std::deque<Value> values_;  // every value made, never moved
    std::vector<ValuePtr> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, ValuePtr> memo_;
};

// Each key of a checkpoint's dict once: torch.save never writes one twice,
// Python would keep only the last, and one memoized key named again and again
// would be copied into the result once per entry. Keys are compared by value
// first (that memoized string), then by text, so no text is hashed twice.
void require_unique_keys(const Value& dict, const std::string& what, const std::string& file) {
    std::unordered_set<const Value*> values;
    std::unordered_set<std::string_view> texts;
    for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
        const Value* key = dict.items[i];
        if (key->kind != Value::Kind::text) continue;
        if (!values.insert(key).second || !texts.insert(key->text).second)
            throw Error(fmt::format("{} of the checkpoint has the key '{}' twice", what, key->text), Location(file));
    }
}

// A tensor that fits its storage, with sizes and strides that make sense.
void check_tensor(const PickledTensor& t, const std::string& file) {
    auto bad = [&](const std::string& why) {
        return Error(fmt::format("the checkpoint's tensor '{}' {}", t.key, why), Location(file));
    };
    if (t.sizes.size() != t.strides.size()) throw bad("has a size and a stride of different lengths");
    if (t.offset < 0) throw bad("has a negative storage offset");
    std::int64_t last = t.offset;  // highest element index read
    bool empty = false;
    for (std::size_t d = 0; d < t.sizes.size(); ++d) {
        if (t.sizes[d] < 0 || t.strides[d] < 0) throw bad("has a negative size or stride");
        if (t.sizes[d] == 0) empty = true;
        if (t.sizes[d] > 0 && t.strides[d] > 0 &&
            t.sizes[d] - 1 > (std::numeric_limits<std::int64_t>::max() - last) / t.strides[d])
            throw bad("has sizes and strides beyond any storage");
        if (t.sizes[d] > 0) last += (t.sizes[d] - 1) * t.strides[d];
    }
    if (!empty && last >= t.storage_elements)
        throw bad(fmt::format("reads element {} of a storage of {} elements", last, t.storage_elements));
}

}  // namespace

PickledStateDict read_state_dict_pickle(const std::string& bytes, const std::string& file) {
    Machine machine(bytes, file);  // owns every value read
    const ValuePtr top = machine.run();
    if (top->kind != Value::Kind::dict)
        throw Error(fmt::format("the checkpoint holds {}, not a dict with a state dict", kind_name(top->kind)),
                    Location(file));
    PickledStateDict out;
    const Value* state = top;
    out.source = "the top level";
    require_unique_keys(*top, out.source, file);
    for (std::size_t i = 0; i + 1 < top->items.size(); i += 2) {
        const Value& key = *top->items[i];
        if (key.kind == Value::Kind::text && key.text == "model") {
            state = top->items[i + 1];
            out.source = "the 'model' entry";
        }
    }
    if (state != top) {
        for (std::size_t i = 0; i + 1 < top->items.size(); i += 2) {
            const Value& key = *top->items[i];
            if (key.kind != Value::Kind::text || key.text != "model")
                out.ignored.push_back(key.kind == Value::Kind::text ? key.text : kind_name(key.kind));
        }
        if (state->kind != Value::Kind::dict)
            throw Error(fmt::format("the checkpoint's 'model' entry is {}, not a state dict", kind_name(state->kind)),
                        Location(file));
        require_unique_keys(*state, out.source, file);
    }
    std::map<std::string, std::size_t> storages;  // storage key → its first tensor in out.tensors
    for (std::size_t i = 0; i + 1 < state->items.size(); i += 2) {
        const Value& key = *state->items[i];
        const Value& value = *state->items[i + 1];
        if (key.kind != Value::Kind::text)
            throw Error(fmt::format("{} of the checkpoint has a key that is {}, not a parameter name", out.source,
                                    kind_name(key.kind)),
                        Location(file));
        if (value.kind != Value::Kind::tensor)
            throw Error(fmt::format("entry '{}' of {} of the checkpoint is {}, not a tensor{}", key.text, out.source,
                                    kind_name(value.kind),
                                    state == top ? " (a PANNs checkpoint keeps its weights under 'model')" : ""),
                        Location(file));
        PickledTensor t = *value.tensor;
        t.key = key.text;
        check_tensor(t, file);
        // The loader reads each storage once, by key, and views it with every tensor that names it;
        // torch.save refuses to write one storage as two types.
        const auto [first, added] = storages.emplace(t.storage, out.tensors.size());
        const PickledTensor& other = added ? t : out.tensors[first->second];
        if (other.dtype != t.dtype || other.storage_elements != t.storage_elements)
            throw Error(fmt::format("the checkpoint's tensors '{}' and '{}' describe storage '{}' differently: {} "
                                    "{} elements, then {} {} elements",
                                    other.key, t.key, t.storage, other.storage_elements, other.dtype,
                                    t.storage_elements, t.dtype),
                        Location(file));
        out.tensors.push_back(std::move(t));
    }
    return out;
}

}  // namespace mer
