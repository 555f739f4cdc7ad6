// The policy language of policy.h: a lexer, a recursive-descent parser
// (or > and > not > term, as in C) and the evaluation of the tree.
#include "apps/hsm/policy/policy.h"

#include <pwd.h>
#include <time.h>

#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include "apps/hsm/policy/glob.h"
#include "runtime/base/size.h"

namespace pdm::hsm {

namespace policy_ast {
enum class Attribute { kSize, kAtime, kMtime, kPath, kOwner, kState };
enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual, kMatch, kNoMatch };
}  // namespace policy_ast
using policy_ast::Attribute;
using policy_ast::Op;

struct Policy::Node {
  enum class Kind { kAnd, kOr, kNot, kTerm } kind = Kind::kTerm;
  std::shared_ptr<const Node> left, right;  // kAnd, kOr; kNot uses left

  Attribute attribute = Attribute::kSize;
  Op op = Op::kEqual;
  std::uint64_t number = 0;  // size in bytes, uid
  std::int64_t seconds = 0;  // atime, mtime: since the epoch
  FileState state = FileState::kResident;
  std::optional<Glob> glob;
  std::string shown;  // the literal as describe() prints it
};

namespace {

using Node = Policy::Node;

struct Token {
  enum class Kind { kWord, kString, kOp, kOpen, kClose, kEnd } kind = Kind::kEnd;
  std::string text;    // the word, the unescaped string or the operator
  std::size_t column;  // 1-based
};

std::string_view op_text(Op op) {
  switch (op) {
    case Op::kLess:
      return "<";
    case Op::kLessEqual:
      return "<=";
    case Op::kGreater:
      return ">";
    case Op::kGreaterEqual:
      return ">=";
    case Op::kEqual:
      return "==";
    case Op::kNotEqual:
      return "!=";
    case Op::kMatch:
      return "~";
    case Op::kNoMatch:
      return "!~";
  }
  return "?";
}

std::optional<Op> parse_op(std::string_view text) {
  for (Op op : {Op::kLess, Op::kLessEqual, Op::kGreater, Op::kGreaterEqual, Op::kEqual,
                Op::kNotEqual, Op::kMatch, Op::kNoMatch}) {
    if (op_text(op) == text) return op;
  }
  return std::nullopt;
}

std::string_view attribute_name(Attribute attribute) {
  switch (attribute) {
    case Attribute::kSize:
      return "size";
    case Attribute::kAtime:
      return "atime";
    case Attribute::kMtime:
      return "mtime";
    case Attribute::kPath:
      return "path";
    case Attribute::kOwner:
      return "owner";
    case Attribute::kState:
      return "state";
  }
  return "?";
}

std::optional<Attribute> parse_attribute(std::string_view text) {
  for (Attribute a : {Attribute::kSize, Attribute::kAtime, Attribute::kMtime, Attribute::kPath,
                      Attribute::kOwner, Attribute::kState}) {
    if (attribute_name(a) == text) return a;
  }
  return std::nullopt;
}

bool is_operator_char(char c) {
  return c == '<' || c == '>' || c == '=' || c == '!' || c == '~';
}

bool is_word_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')' && c != '"' &&
         !is_operator_char(c);
}

Error syntax_error(std::size_t column, std::string message) {
  return make_error(EINVAL, "policy: column {}: {}", column, message);
}

std::string describe_token(const Token &token) {
  switch (token.kind) {
    case Token::Kind::kEnd:
      return "the end of the policy";
    case Token::Kind::kString:
      return fmt::format("\"{}\"", token.text);
    default:
      return fmt::format("'{}'", token.text);
  }
}

Result<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const std::size_t column = i + 1;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')') {
      tokens.push_back(
          {c == '(' ? Token::Kind::kOpen : Token::Kind::kClose, std::string(1, c), column});
      ++i;
    } else if (c == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        // \" and \\ are escapes; any other backslash is kept (glob escapes).
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
          ++i;
        }
        value += text[i++];
      }
      if (!closed) return syntax_error(column, "unterminated string (missing '\"')");
      tokens.push_back({Token::Kind::kString, std::move(value), column});
    } else if (is_operator_char(c)) {
      // The whole run of operator characters, so that "=>" is reported as
      // one unknown operator rather than as "=" followed by ">".
      std::size_t end = i + 1;
      while (end < text.size() && is_operator_char(text[end])) ++end;
      const std::string op(text.substr(i, end - i));
      if (!parse_op(op)) {
        return syntax_error(column,
                            fmt::format("unknown operator '{}' (< <= > >= == != ~ !~)", op));
      }
      tokens.push_back({Token::Kind::kOp, op, column});
      i = end;
    } else {
      std::size_t end = i;
      while (end < text.size() && is_word_char(text[end])) ++end;
      tokens.push_back({Token::Kind::kWord, std::string(text.substr(i, end - i)), column});
      i = end;
    }
  }
  tokens.push_back({Token::Kind::kEnd, "", text.size() + 1});
  return tokens;
}

// Floor division, so that times before the epoch round down too.
std::int64_t seconds_of(std::int64_t ns) {
  std::int64_t s = ns / 1'000'000'000;
  if (ns % 1'000'000'000 < 0) --s;
  return s;
}

std::string format_utc(std::int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  ::gmtime_r(&t, &parts);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", parts.tm_year + 1900, parts.tm_mon + 1,
                     parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
}

template <typename T>
bool parse_int(std::string_view text, T &out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "-7d" (ago) / "+1h" (ahead), or "YYYY-MM-DD[THH:MM:SS][Z]" in UTC.
std::optional<std::int64_t> parse_time(std::string_view text, std::int64_t now_s) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    if (text.size() < 3) return std::nullopt;
    std::int64_t unit = 0;
    switch (text.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    std::int64_t count = 0;
    if (!parse_int(text.substr(1, text.size() - 2), count) || count < 0 ||
        count > (std::int64_t{1} << 40)) {
      return std::nullopt;
    }
    return now_s + (text[0] == '-' ? -count : count) * unit;
  }
  if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
  if (text.size() != 10 && text.size() != 19) return std::nullopt;
  if (text[4] != '-' || text[7] != '-') return std::nullopt;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!parse_int(text.substr(0, 4), year) || !parse_int(text.substr(5, 2), month) ||
      !parse_int(text.substr(8, 2), day)) {
    return std::nullopt;
  }
  if (text.size() == 19) {
    if (text[10] != 'T' || text[13] != ':' || text[16] != ':') return std::nullopt;
    if (!parse_int(text.substr(11, 2), hour) || !parse_int(text.substr(14, 2), minute) ||
        !parse_int(text.substr(17, 2), second)) {
      return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  const time_t t = ::timegm(&parts);
  // timegm normalises 2026-02-31 to March: reject dates that do not exist.
  if (parts.tm_mday != day || parts.tm_mon != month - 1) return std::nullopt;
  return static_cast<std::int64_t>(t);
}

std::optional<std::uint32_t> lookup_user(const std::string &name) {
  passwd entry{};
  passwd *found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(found->pw_uid);
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

template <typename T>
bool compare(Op op, T a, T b) {
  switch (op) {
    case Op::kLess:
      return a < b;
    case Op::kLessEqual:
      return a <= b;
    case Op::kGreater:
      return a > b;
    case Op::kGreaterEqual:
      return a >= b;
    case Op::kEqual:
      return a == b;
    case Op::kNotEqual:
      return a != b;
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::int64_t now_s)
      : tokens_(std::move(tokens)), now_s_(now_s) {}

  Result<std::shared_ptr<const Node>> parse() {
    PDM_ASSIGN_OR_RETURN(auto root, parse_or());
    if (peek().kind != Token::Kind::kEnd) {
      return syntax_error(peek().column, fmt::format("expected 'and', 'or' or the end, found {}",
                                                     describe_token(peek())));
    }
    return root;
  }

 private:
  const Token &peek() const { return tokens_[pos_]; }
  const Token &next() { return tokens_[pos_++]; }
  bool at_keyword(std::string_view word) const {
    return peek().kind == Token::Kind::kWord && peek().text == word;
  }

  static std::shared_ptr<const Node> join(Node::Kind kind, std::shared_ptr<const Node> left,
                                          std::shared_ptr<const Node> right) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  Result<std::shared_ptr<const Node>> parse_or() {
    PDM_ASSIGN_OR_RETURN(auto left, parse_and());
    while (at_keyword("or")) {
      ++pos_;
      PDM_ASSIGN_OR_RETURN(auto right, parse_and());
      left = join(Node::Kind::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  Result<std::shared_ptr<const Node>> parse_and() {
    PDM_ASSIGN_OR_RETURN(auto left, parse_not());
    while (at_keyword("and")) {
      ++pos_;
      PDM_ASSIGN_OR_RETURN(auto right, parse_not());
      left = join(Node::Kind::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  Result<std::shared_ptr<const Node>> parse_not() {
    if (at_keyword("not")) {
      ++pos_;
      PDM_ASSIGN_OR_RETURN(auto operand, parse_not());
      return join(Node::Kind::kNot, std::move(operand), nullptr);
    }
    return parse_primary();
  }

  Result<std::shared_ptr<const Node>> parse_primary() {
    if (peek().kind == Token::Kind::kOpen) {
      const std::size_t open = next().column;
      PDM_ASSIGN_OR_RETURN(auto inner, parse_or());
      if (peek().kind != Token::Kind::kClose) {
        return syntax_error(
            peek().column, fmt::format("expected ')' to close the '(' at column {}, found {}", open,
                                       describe_token(peek())));
      }
      ++pos_;
      return inner;
    }
    return parse_term();
  }

  Result<std::shared_ptr<const Node>> parse_term() {
    const Token &name = peek();
    const auto attribute =
        name.kind == Token::Kind::kWord ? parse_attribute(name.text) : std::nullopt;
    if (!attribute) {
      return syntax_error(name.column,
                          fmt::format("expected an attribute (size, atime, mtime, path, owner, "
                                      "state), 'not' or '(', found {}",
                                      describe_token(name)));
    }
    ++pos_;
    const Token &op_token = peek();
    if (op_token.kind != Token::Kind::kOp) {
      return syntax_error(op_token.column, fmt::format("expected an operator after '{}', found {}",
                                                       name.text, describe_token(op_token)));
    }
    const Op op = *parse_op(op_token.text);
    const std::string_view allowed = allowed_ops(*attribute);
    if (!allows(*attribute, op)) {
      return syntax_error(op_token.column,
                          fmt::format("operator '{}' does not apply to {} (use {})", op_token.text,
                                      name.text, allowed));
    }
    ++pos_;
    const Token &value = peek();
    if (value.kind != Token::Kind::kWord && value.kind != Token::Kind::kString) {
      return syntax_error(value.column,
                          fmt::format("expected a value after '{} {}', found {}", name.text,
                                      op_token.text, describe_token(value)));
    }
    ++pos_;
    auto node = std::make_shared<Node>();
    node->attribute = *attribute;
    node->op = op;
    PDM_TRY(fill_value(*node, value));
    return std::shared_ptr<const Node>(std::move(node));
  }

  static std::string_view allowed_ops(Attribute attribute) {
    switch (attribute) {
      case Attribute::kPath:
        return "~ or !~";
      case Attribute::kOwner:
      case Attribute::kState:
        return "== or !=";
      default:
        return "< <= > >= == !=";
    }
  }

  static bool allows(Attribute attribute, Op op) {
    const bool match = op == Op::kMatch || op == Op::kNoMatch;
    switch (attribute) {
      case Attribute::kPath:
        return match;
      case Attribute::kOwner:
      case Attribute::kState:
        return op == Op::kEqual || op == Op::kNotEqual;
      default:
        return !match;
    }
  }

  Status fill_value(Node &node, const Token &value) const {
    const std::string &text = value.text;
    switch (node.attribute) {
      case Attribute::kSize: {
        auto size = parse_size(text);
        if (!size.ok() || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
          return syntax_error(value.column,
                              fmt::format("expected a size such as 4096, 64K, 1M, 10G or 2T, "
                                          "found {}",
                                          describe_token(value)));
        }
        node.number = *size;
        node.shown = text;
        return ok_status();
      }
      case Attribute::kAtime:
      case Attribute::kMtime: {
        const auto seconds = parse_time(text, now_s_);
        if (!seconds) {
          return syntax_error(value.column,
                              fmt::format("expected a time such as -7d (units s, m, h, d, w) or "
                                          "2026-01-31 or 2026-01-31T12:00:00 (UTC), found {}",
                                          describe_token(value)));
        }
        node.seconds = *seconds;
        node.shown = format_utc(*seconds);
        return ok_status();
      }
      case Attribute::kPath: {
        auto glob = Glob::compile(text);
        if (!glob.ok()) {
          // The column of the bad character: inside quotes it is one further.
          const std::size_t offset = Glob::error_offset(text);
          const std::size_t column =
              value.column + offset + (value.kind == Token::Kind::kString ? 1 : 0);
          return syntax_error(
              column, fmt::format("bad glob {}: {}", quoted(text),
                                  text[offset] == '[' ? "unterminated [...]" : "trailing '\\'"));
        }
        node.glob = std::move(*glob);
        node.shown = quoted(text);
        return ok_status();
      }
      case Attribute::kOwner: {
        std::uint32_t uid = 0;
        if (parse_int(text, uid)) {
          node.number = uid;
          node.shown = text;
          return ok_status();
        }
        const auto found = lookup_user(text);
        if (!found) {
          return syntax_error(
              value.column,
              fmt::format("unknown user {} (a user name or a numeric uid)", describe_token(value)));
        }
        node.number = *found;
        node.shown = text;
        return ok_status();
      }
      case Attribute::kState: {
        const auto state = parse_file_state(text);
        if (!state) {
          return syntax_error(value.column,
                              fmt::format("expected a state (resident, premigrated, migrated), "
                                          "found {}",
                                          describe_token(value)));
        }
        node.state = *state;
        node.shown = text;
        return ok_status();
      }
    }
    return ok_status();
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  std::int64_t now_s_;
};

bool evaluate(const Node &node, const FileFacts &file) {
  switch (node.kind) {
    case Node::Kind::kAnd:
      return evaluate(*node.left, file) && evaluate(*node.right, file);
    case Node::Kind::kOr:
      return evaluate(*node.left, file) || evaluate(*node.right, file);
    case Node::Kind::kNot:
      return !evaluate(*node.left, file);
    case Node::Kind::kTerm:
      break;
  }
  switch (node.attribute) {
    case Attribute::kSize:
      return compare(node.op, file.size, node.number);
    case Attribute::kAtime:
      return compare(node.op, seconds_of(file.atime_ns), node.seconds);
    case Attribute::kMtime:
      return compare(node.op, seconds_of(file.mtime_ns), node.seconds);
    case Attribute::kPath:
      return node.glob->matches(file.path) == (node.op == Op::kMatch);
    case Attribute::kOwner:
      return compare(node.op, std::uint64_t{file.uid}, node.number);
    case Attribute::kState:
      return (file.state == node.state) == (node.op == Op::kEqual);
  }
  return false;
}

std::string describe_node(const Node &node) {
  switch (node.kind) {
    case Node::Kind::kAnd:
      return fmt::format("({} and {})", describe_node(*node.left), describe_node(*node.right));
    case Node::Kind::kOr:
      return fmt::format("({} or {})", describe_node(*node.left), describe_node(*node.right));
    case Node::Kind::kNot:
      return fmt::format("(not {})", describe_node(*node.left));
    case Node::Kind::kTerm:
      break;
  }
  return fmt::format("({} {} {})", attribute_name(node.attribute), op_text(node.op), node.shown);
}

}  // namespace

Result<Policy> Policy::parse(std::string_view text, std::chrono::system_clock::time_point now) {
  PDM_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(text));
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Parser parser(std::move(tokens), now_s);
  PDM_ASSIGN_OR_RETURN(auto root, parser.parse());
  return Policy(std::move(root));
}

bool Policy::matches(const FileFacts &file) const {
  return evaluate(*root_, file);
}

std::string Policy::describe() const {
  return describe_node(*root_);
}

}  // namespace pdm::hsm
