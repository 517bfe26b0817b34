#include "distill/metrics.h"

#include <iomanip>
#include <sstream>

#include "tensor/error.h"

namespace retort {
namespace distill {

json::Value metrics_to_json(const EpochMetrics& m) {
  json::Value o = json::Value::object();
  o.set("epoch", static_cast<int64_t>(m.epoch));
  o.set("lr", m.lr);
  o.set("train_loss", m.train_loss);
  json::Value terms = json::Value::object();
  for (const auto& t : m.train_terms) terms.set(t.first, t.second);
  o.set("train_terms", terms);
  o.set("train_top1", m.train_top1);
  o.set("test_loss", m.test_loss);
  o.set("test_top1", m.test_top1);
  o.set("test_top5", m.test_top5);
  o.set("seconds", m.seconds);
  o.set("images_per_second", m.images_per_second);
  return o;
}

EpochMetrics metrics_from_json(const json::Value& o) {
  EpochMetrics m;
  m.epoch = static_cast<int>(o.at("epoch").as_int64());
  m.lr = o.at("lr").as_double();
  m.train_loss = o.at("train_loss").as_double();
  for (const auto& t : o.at("train_terms").members()) m.train_terms.emplace_back(t.first, t.second.as_double());
  m.train_top1 = o.at("train_top1").as_double();
  m.test_loss = o.at("test_loss").as_double();
  m.test_top1 = o.at("test_top1").as_double();
  m.test_top5 = o.at("test_top5").as_double();
  m.seconds = o.at("seconds").as_double();
  m.images_per_second = o.at("images_per_second").as_double();
  return m;
}

json::Value history_to_json(const std::vector<EpochMetrics>& h) {
  json::Value arr = json::Value::array();
  for (const EpochMetrics& m : h) arr.push_back(metrics_to_json(m));
  return arr;
}

std::vector<EpochMetrics> history_from_json(const json::Value& arr) {
  std::vector<EpochMetrics> h;
  for (size_t i = 0; i < arr.size(); ++i) h.push_back(metrics_from_json(arr[i]));
  return h;
}

std::string metrics_csv(const std::vector<EpochMetrics>& h) {
  std::ostringstream os;
  os << std::setprecision(9);
  os << "epoch,lr,train_loss";
  if (!h.empty())
    for (const auto& t : h[0].train_terms) os << ",train_" << t.first;
  os << ",train_top1,test_loss,test_top1,test_top5,seconds,images_per_second\n";
  for (const EpochMetrics& m : h) {
    os << m.epoch << "," << m.lr << "," << m.train_loss;
    for (const auto& t : m.train_terms) os << "," << t.second;
    os << "," << m.train_top1 << "," << m.test_loss << "," << m.test_top1 << "," << m.test_top5 << "," << m.seconds
       << "," << m.images_per_second << "\n";
  }
  return os.str();
}

std::string metrics_jsonl(const std::vector<EpochMetrics>& h) {
  std::string out;
  for (const EpochMetrics& m : h) out += json::dump(metrics_to_json(m)) + "\n";
  return out;
}

std::vector<EpochMetrics> parse_metrics_jsonl(const std::string& text, const std::string& source) {
  std::vector<EpochMetrics> h;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      h.push_back(metrics_from_json(json::parse(line)));
    } catch (const Error& e) {
      RETORT_FAIL(source << ":" << number << ": " << e.message());
    }
  }
  return h;
}

}  // namespace distill
}  // namespace retort
