// Per-epoch metrics of a run and their files: metrics.csv, metrics.jsonl, and
// the JSON kept in the resume snapshot (round-trip precision, so a resumed run
// rewrites the files exactly).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tensor/json.h"

namespace retort {
namespace distill {

struct EpochMetrics {
  int epoch = 0;
  double lr = 0.0;
  double train_loss = 0.0;
  std::vector<std::pair<std::string, double>> train_terms;  // sample-weighted means
  double train_top1 = 0.0;
  double test_loss = 0.0, test_top1 = 0.0, test_top5 = 0.0;
  double seconds = 0.0;
  double images_per_second = 0.0;
};

json::Value metrics_to_json(const EpochMetrics& m);
EpochMetrics metrics_from_json(const json::Value& o);
json::Value history_to_json(const std::vector<EpochMetrics>& h);
std::vector<EpochMetrics> history_from_json(const json::Value& arr);

std::string metrics_csv(const std::vector<EpochMetrics>& h);
std::string metrics_jsonl(const std::vector<EpochMetrics>& h);
std::vector<EpochMetrics> parse_metrics_jsonl(const std::string& text, const std::string& source);

}  // namespace distill
}  // namespace retort
