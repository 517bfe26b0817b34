#include "distill/trainer.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "autograd/anomaly.h"
#include "autograd/functions.h"
#include "data/spec.h"
#include "data/subset.h"
#include "distill/evaluate.h"
#include "distill/metrics.h"
#include "distill/report.h"
#include "distill/step.h"
#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
#include "optim/grad_check.h"
#include "optim/optimizer.h"
#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/safetensors.h"

namespace retort {
namespace distill {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path) {
  std::string partial;
  std::istringstream in(path);
  std::string part;
  if (!path.empty() && path[0] == '/') partial = "/";
  while (std::getline(in, part, '/')) {
    if (part.empty()) continue;
    partial += part + "/";
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      RETORT_FAIL("cannot create the run folder " << partial << ": " << std::strerror(errno));
  }
}

std::string fmt(double v, int precision = 4) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(precision) << v;
  return os.str();
}

// "epoch 3, step 12 of 196": where in the run a step failed.
std::string where(int epoch, const data::Batch& batch, int64_t batches) {
  return "epoch " + std::to_string(epoch) + ", step " + std::to_string(batch.index + 1) + " of " +
         std::to_string(batches);
}

// Why a model whose training steps were finite evaluates to NaN/Inf.
std::string nonfinite_state(const layers::Model& model) {
  for (const NamedTensor& t : model.state_dict())
    if (t.tensor.dtype() == DType::F32 && ops::count_nonfinite(t.tensor) > 0)
      return "the first non-finite state_dict entry is '" + t.name + "' " + t.tensor.shape().str() + " (" +
             std::to_string(ops::count_nonfinite(t.tensor)) + " NaN/Inf values)";
  return "every weight and batch-norm statistic is finite, so an activation overflowed in evaluation mode";
}

// " ce=2.3 kd=0.7": the loss terms of a step.
std::string terms_text(const LossResult& loss) {
  std::ostringstream os;
  for (const auto& t : loss.terms) os << " " << t.first << "=" << t.second;
  return os.str();
}

}  // namespace

std::string default_run_name(const TrainSettings& s) {
  std::string data = s.train_data.substr(0, s.train_data.find(':'));
  std::string name = data + "-" + s.student;
  if (s.method != "none") name += "-" + s.method + "-from-" + s.teacher;
  return name + "-s" + std::to_string(s.seed);
}

struct Trainer::State {
  Config config;
  TrainSettings settings;
  std::string run_dir;
  Device device;

  data::DataSource train_source, test_source;
  std::unique_ptr<data::Loader> train_loader, test_loader;

  std::unique_ptr<layers::Model> student, teacher;
  std::unique_ptr<Objective> objective;  // null for plain training
  std::unique_ptr<optim::Optimizer> optimizer;
  Generator step_rng;  // mixup and auxiliary-sample draws

  std::vector<EpochMetrics> history;
  int best_epoch = 0;
  double best_top1 = -1.0;
  double teacher_top1 = -1.0;
  std::vector<std::string> log_lines;
  bool resumed = false;
  std::unique_ptr<autograd::DetectAnomalyGuard> anomaly_mode;  // config detect_anomaly, for the trainer's lifetime

  int epochs_done() const { return history.empty() ? 0 : history.back().epoch; }
  std::string last_good() const {
    return "the last good checkpoint is " + run_dir + "/last.safetensors (epoch " + std::to_string(epochs_done()) + ")";
  }

  void build();
  void load_resume();
  void save_snapshot();
  void publish();
  void remove_stale_temporaries();
  void check_gradients(int epoch, const data::Batch& batch, int64_t batches, const LossResult& loss);
  void log(TrainerObserver& obs, const std::string& line) {
    log_lines.push_back(line);
    obs.message(line);
  }
  EpochMetrics train_epoch(int epoch, TrainerObserver& obs);
};

void Trainer::State::build() {
  if (settings.threads > 0) set_num_threads(settings.threads);
  if (settings.detect_anomaly) anomaly_mode = std::make_unique<autograd::DetectAnomalyGuard>();
  device = resolve_device(settings.device);
  set_cuda_allow_tf32(settings.allow_tf32);
  step_rng = Generator(settings.seed, /*stream=*/0x57E9);

  // Data: the train split with its recipe's augmentation (plus the strong view
  // for two-view methods), the test split with its test transform.
  train_source = data::open_dataset(settings.train_data, data::Split::Train);
  test_source = data::open_dataset(settings.test_data.empty() ? settings.train_data : settings.test_data,
                                   data::Split::Test);
  train_source.dataset = data::random_subset(train_source.dataset, settings.train_subset, settings.seed);
  test_source.dataset = data::random_subset(test_source.dataset, settings.test_subset, settings.seed + 1);
  const int64_t classes = train_source.dataset->num_classes();
  RETORT_CHECK(test_source.dataset->num_classes() == classes,
               "the training data has " << classes << " classes but the test data has "
                                        << test_source.dataset->num_classes());

  if (settings.method != "none") objective = find_method(settings.method).make(settings.method_options());
  const StepNeeds needs = objective ? objective->needs() : StepNeeds{};
  std::vector<data::Transform> views = {train_source.transform("train")};
  if (needs.strong_view) views.push_back(train_source.transform("strong"));
  train_loader = std::make_unique<data::Loader>(
      train_source.dataset, views,
      data::LoaderOptions{settings.batch_size, true, settings.drop_last, settings.workers, settings.seed, device});
  test_loader = std::make_unique<data::Loader>(
      test_source.dataset, test_source.transform("test"),
      data::LoaderOptions{settings.test_batch_size, false, false, settings.workers, settings.seed, device});
  const int64_t in_channels = train_loader->view_shapes()[0].channels;

  // Models.
  student = layers::make_model(settings.student, layers::ModelConfig{classes, in_channels, settings.seed});
  if (!settings.student_weights.empty()) layers::load_weights(*student, settings.student_weights, true);
  student->to(device);
  student->train();
  if (!settings.teacher.empty()) {
    const layers::WeightsFile w = layers::read_weights(settings.teacher_weights);
    teacher = layers::make_model(settings.teacher, layers::ModelConfig{classes, in_channels, settings.seed});
    const int64_t teacher_classes = layers::weights_num_classes(w, teacher->classifier_key());
    RETORT_CHECK(teacher_classes < 0 || teacher_classes == classes,
                 "the teacher weights " << settings.teacher_weights << " are for " << teacher_classes
                                        << " classes but the data set has " << classes
                                        << " (student and teacher must classify the same classes)");
    layers::load_weights(*teacher, w, true);
    teacher->to(device);
    teacher->eval();  // always: running statistics, no updates
    for (auto& p : teacher->parameters()) p.set_requires_grad(false);  // frozen, never optimised
  }

  // The optimiser: the student's parameters plus the objective's own (CTKD's temperature).
  optim::NamedParams params = student->named_parameters();
  if (objective) {
    const auto extra = objective->parameters();
    for (size_t i = 0; i < extra.size(); ++i) params.emplace_back("objective." + std::to_string(i), extra[i]);
  }
  if (settings.optimizer == "sgd")
    optimizer = std::make_unique<optim::SGD>(
        params, optim::SgdOptions{settings.lr, settings.momentum, settings.weight_decay, settings.nesterov});
  else
    optimizer = std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{settings.lr, settings.beta1, settings.beta2, settings.eps, settings.weight_decay});
}

// The resume snapshot is the run's commit point: one file, written first, from
// which publish() derives every other file of the run folder. A kill at any
// moment leaves the previous snapshot or the new one; --resume republishes.
void Trainer::State::save_snapshot() {
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : student->state_dict()) tensors.push_back({"model." + t.name, t.tensor});
  const optim::OptimizerState os = optimizer->state();
  for (const auto& t : os.tensors) tensors.push_back({"optim." + t.first, t.second});
  if (objective) {
    const auto extra = objective->parameters();
    for (size_t i = 0; i < extra.size(); ++i) tensors.push_back({"objective." + std::to_string(i), extra[i].value()});
  }
  json::Value log = json::Value::array();
  for (const std::string& l : log_lines) log.push_back(json::Value(l));
  const safetensors::Metadata resume_meta = {
      {"format", "retort-resume"},
      {"epoch", std::to_string(epochs_done())},
      {"optim_steps", std::to_string(os.steps)},
      {"optim_lr", json::dump(json::Value(os.lr))},
      {"step_rng_offset", std::to_string(step_rng.offset())},
      {"best_epoch", std::to_string(best_epoch)},
      {"best_top1", json::dump(json::Value(best_top1))},
      {"teacher_top1", json::dump(json::Value(teacher_top1))},
      {"history", json::dump(history_to_json(history))},
      {"log", json::dump(log)},
  };
  safetensors::save(run_dir + "/resume.safetensors", tensors, resume_meta);
}

// Writes the files derived from the state: the weights after the last epoch
// (and the best ones when that epoch is the best), metrics, log and report.
// Rewriting them from the same state gives the same bytes (timings aside).
void Trainer::State::publish() {
  layers::Metadata meta = {{"epoch", std::to_string(epochs_done())}, {"run", run_dir}};
  if (!history.empty()) meta.insert(meta.begin() + 1, {"test_top1", fmt(history.back().test_top1, 4)});
  layers::save_weights(run_dir + "/last.safetensors", *student, meta);
  if (history.empty()) return;
  if (best_epoch == epochs_done()) layers::save_weights(run_dir + "/best.safetensors", *student, meta);
  write_file_atomic(run_dir + "/metrics.csv", metrics_csv(history));
  write_file_atomic(run_dir + "/metrics.jsonl", metrics_jsonl(history));
  std::string text;
  for (const std::string& l : log_lines) text += l + "\n";
  write_file_atomic(run_dir + "/log.txt", text);
  write_file_atomic(run_dir + "/report.html", render_report({ReportRun{run_dir, config.to_yaml(), history,
                                                                       best_epoch, teacher_top1}}));
}

// What a write killed half-way left in the run folder.
void Trainer::State::remove_stale_temporaries() {
  for (const char* f : {"config.yaml", "resume.safetensors", "last.safetensors", "best.safetensors", "metrics.csv",
                        "metrics.jsonl", "log.txt", "report.html"})
    retort::remove_stale_temporaries(run_dir + "/" + f);
}

void Trainer::State::load_resume() {
  const std::string path = run_dir + "/resume.safetensors";
  RETORT_CHECK(exists(path), "cannot resume " << run_dir << ": it has no resume.safetensors");
  const safetensors::Contents c = safetensors::load(path);
  auto find_meta = [&](const std::string& key) -> const std::string* {
    for (const auto& kv : c.metadata)
      if (kv.first == key) return &kv.second;
    return nullptr;
  };
  auto meta = [&](const std::string& key) -> const std::string& {
    const std::string* v = find_meta(key);
    RETORT_CHECK(v != nullptr, path << ": metadata '" << key << "' is missing");
    return *v;
  };
  std::vector<NamedTensor> model, objective_params;
  optim::OptimizerState os;
  for (const NamedTensor& t : c.tensors) {
    if (t.name.rfind("model.", 0) == 0) model.push_back({t.name.substr(6), t.tensor});
    else if (t.name.rfind("optim.", 0) == 0) os.tensors.emplace_back(t.name.substr(6), t.tensor);
    else if (t.name.rfind("objective.", 0) == 0) objective_params.push_back(t);
    else RETORT_FAIL(path << ": unexpected tensor '" << t.name << "'");
  }
  student->load_state_dict(model, true);
  os.steps = std::stoll(meta("optim_steps"));
  os.lr = json::parse(meta("optim_lr")).as_double();
  optimizer->load_state(os);
  if (objective) {
    const auto extra = objective->parameters();
    RETORT_CHECK(extra.size() == objective_params.size(),
                 path << ": expected " << extra.size() << " objective parameters, found " << objective_params.size());
    for (size_t i = 0; i < extra.size(); ++i) {
      Tensor dst = extra[i].value();
      ops::copy_(dst, objective_params[i].tensor);
    }
  }
  step_rng.set_offset(std::stoull(meta("step_rng_offset")));
  best_epoch = std::stoi(meta("best_epoch"));
  best_top1 = json::parse(meta("best_top1")).as_double();
  teacher_top1 = json::parse(meta("teacher_top1")).as_double();
  history = history_from_json(json::parse(meta("history")));
  RETORT_CHECK(epochs_done() == std::stoi(meta("epoch")),
               path << ": the metrics history does not end at epoch " << meta("epoch"));
  if (const std::string* log = find_meta("log")) {
    const json::Value lines = json::parse(*log);
    for (const json::Value& l : lines.items()) log_lines.push_back(l.as_string());
  } else if (exists(run_dir + "/log.txt")) {  // a snapshot from before the log moved into it
    std::istringstream in(read_file(run_dir + "/log.txt"));
    for (std::string line; std::getline(in, line);) log_lines.push_back(line);
  }
  resumed = true;
}

// The gradient guard: one pass over the gradients after backward.
void Trainer::State::check_gradients(int epoch, const data::Batch& batch, int64_t batches, const LossResult& loss) {
  const optim::NamedParams& params = optimizer->params();
  const optim::NonFiniteGrads bad = optim::find_nonfinite_grads(params);
  if (bad.count == 0) return;
  const Tensor& g = params[bad.origin].second.grad();
  const float total = loss.total.value().to(Device::cpu()).item<float>();
  RETORT_FAIL("non-finite gradient at " << where(epoch, batch, batches) << " (loss " << total << ", terms:"
                                        << terms_text(loss) << "): the gradient of '" << params[bad.origin].first
                                        << "' " << g.shape() << " holds " << ops::count_nonfinite(g)
                                        << " NaN/Inf values; of the " << bad.count << " parameters with non-finite "
                                        << "gradients it is the one nearest the loss; rerun with --detect-anomaly "
                                        << "to find the op; " << last_good());
}

EpochMetrics Trainer::State::train_epoch(int epoch, TrainerObserver& obs) {
  EpochMetrics m;
  m.epoch = epoch;
  m.lr = settings.schedule.lr_at(epoch);
  optimizer->set_lr(m.lr);
  student->train();
  const int64_t batches = train_loader->num_batches();
  obs.epoch_begin(epoch, settings.epochs, batches, m.lr);

  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0.0;
  std::vector<std::pair<std::string, double>> term_sums;
  int64_t samples = 0, correct = 0;
  train_loader->start_epoch(epoch);
  data::Batch batch;
  StepContext ctx{*student, teacher.get(), objective.get(), step_rng, settings.label_smoothing};
  while (train_loader->next(batch)) {
    StepResult r;
    double loss = 0.0;
    try {
      r = training_step(ctx, batch, epoch);
      loss = r.loss.total.value().to(Device::cpu()).item<float>();
      if (std::isfinite(loss)) {
        optimizer->zero_grad();
        r.loss.total.backward();
      }
    } catch (const Error& e) {  // e.g. --detect-anomaly naming an op: add where it happened
      RETORT_FAIL(e.message() << " at " << where(epoch, batch, batches) << "; " << last_good());
    }
    if (!std::isfinite(loss))
      RETORT_FAIL("non-finite loss " << loss << " at " << where(epoch, batch, batches) << " (terms:"
                                     << terms_text(r.loss) << "); " << last_good());
    check_gradients(epoch, batch, batches, r.loss);
    optimizer->step();

    const int64_t n = batch.size();
    samples += n;
    loss_sum += loss * n;
    if (term_sums.empty())
      for (const auto& t : r.loss.terms) term_sums.emplace_back(t.first, 0.0);
    for (size_t i = 0; i < term_sums.size() && i < r.loss.terms.size(); ++i) term_sums[i].second += r.loss.terms[i].second * n;
    EvalResult unused;
    int64_t top5 = 0;
    accumulate_accuracy(r.logits, batch.labels, unused, correct, top5, 5);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    obs.step(epoch, batch.index + 1, batches, loss_sum / samples, samples / std::max(secs, 1e-9));
  }
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.train_loss = loss_sum / samples;
  for (auto& t : term_sums) m.train_terms.emplace_back(t.first, t.second / samples);
  m.train_top1 = 100.0 * correct / samples;
  m.images_per_second = samples / std::max(train_seconds, 1e-9);

  obs.evaluating(epoch);
  const EvalResult e = evaluate(*student, *test_loader);
  if (!std::isfinite(e.loss))
    RETORT_FAIL("non-finite test loss " << e.loss << " after epoch " << epoch << ": " << nonfinite_state(*student)
                                        << "; " << last_good());
  m.test_loss = e.loss;
  m.test_top1 = e.top1;
  m.test_top5 = e.top5;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

Trainer::Trainer(std::unique_ptr<State> state) : s_(std::move(state)) {}
Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::create(const Config& config) {
  auto s = std::make_unique<State>();
  s->config = config;
  s->settings = TrainSettings::from_config(config);
  if (s->settings.name.empty()) {
    s->settings.name = default_run_name(s->settings);
    s->config.set("name", s->settings.name);
  }
  s->run_dir = s->settings.out + "/" + s->settings.name;
  RETORT_CHECK(!exists(s->run_dir + "/config.yaml"),
               "the run folder " << s->run_dir << " already holds a run; resume it with --resume " << s->run_dir
                                 << " or choose another name (--set name=...)");
  s->build();
  make_dirs(s->run_dir);
  s->remove_stale_temporaries();
  // The epoch-0 snapshot first, the config last: from the moment the folder
  // holds a run (its config.yaml), it holds a checkpoint --resume can use.
  s->save_snapshot();
  s->publish();
  write_file_atomic(s->run_dir + "/config.yaml", s->config.to_yaml());
  return std::unique_ptr<Trainer>(new Trainer(std::move(s)));
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir) {
  auto s = std::make_unique<State>();
  s->config = default_config();
  s->config.merge_yaml(read_file(run_dir + "/config.yaml"), run_dir + "/config.yaml");
  s->settings = TrainSettings::from_config(s->config);
  s->run_dir = run_dir;
  s->build();
  s->remove_stale_temporaries();
  s->load_resume();
  s->publish();  // a kill after the last snapshot may have left the derived files behind it
  return std::unique_ptr<Trainer>(new Trainer(std::move(s)));
}

RunSummary Trainer::run(TrainerObserver& obs) {
  State& s = *s_;
  const int first = s.epochs_done() + 1;
  if (s.resumed) s.log(obs, "resumed " + s.run_dir + " after epoch " + std::to_string(s.epochs_done()));
  if (first == 1) {
    s.log(obs, "run " + s.run_dir + ": " + s.settings.student + " on " + s.train_source.dataset->name() + " (" +
                   std::to_string(s.train_source.dataset->size()) + " images, " +
                   std::to_string(s.train_source.dataset->num_classes()) + " classes), method " + s.settings.method +
                   (s.teacher ? " from " + s.settings.teacher : std::string()) + ", " +
                   std::to_string(s.settings.epochs) + " epochs on " + s.device.str() + ", " +
                   std::to_string(num_threads()) + " threads");
    if (s.teacher) {
      obs.evaluating(0);
      s.teacher_top1 = evaluate(*s.teacher, *s.test_loader).top1;
      s.log(obs, "teacher " + s.settings.teacher + " test top-1 " + fmt(s.teacher_top1, 2) + "%");
    }
  }
  for (int epoch = first; epoch <= s.settings.epochs; ++epoch) {
    EpochMetrics m = s.train_epoch(epoch, obs);
    const bool best = m.test_top1 > s.best_top1;
    if (best) {
      s.best_top1 = m.test_top1;
      s.best_epoch = epoch;
    }
    s.history.push_back(m);
    std::ostringstream line;
    line << "epoch " << epoch << "/" << s.settings.epochs << " lr " << m.lr << " loss " << fmt(m.train_loss)
         << " train " << fmt(m.train_top1, 2) << "% test loss " << fmt(m.test_loss) << " top-1 "
         << fmt(m.test_top1, 2) << "% top-5 " << fmt(m.test_top5, 2) << "% " << fmt(m.seconds, 1) << "s "
         << fmt(m.images_per_second, 0) << " img/s" << (best ? " (best)" : "");
    s.log_lines.push_back(line.str());
    s.save_snapshot();
    s.publish();
    obs.epoch_end(m, best);
  }
  RunSummary r;
  r.run_dir = s.run_dir;
  r.epochs_done = s.epochs_done();
  r.last_top1 = s.history.empty() ? 0.0 : s.history.back().test_top1;
  r.best_epoch = s.best_epoch;
  r.best_top1 = s.best_top1;
  r.teacher_top1 = s.teacher_top1;
  return r;
}

const std::string& Trainer::run_dir() const { return s_->run_dir; }
const std::vector<EpochMetrics>& Trainer::history() const { return s_->history; }
const TrainSettings& Trainer::settings() const { return s_->settings; }

}  // namespace distill
}  // namespace retort
