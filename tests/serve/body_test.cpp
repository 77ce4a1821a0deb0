// How `attend serve` reads a forecast request's body: whole from the connection's buffer when
// it has a Content-Length (one larger than the buffer grows it, and the connection serves on),
// through httplib for a chunked one, and after a 100 Continue when the client expects one.
#include <gtest/gtest.h>

#include "serve_support.h"

namespace attend::testing::serve {
namespace {

// forecasts[k] of an answer equals the library's forecast of inputs[k], bit for bit (float32).
void expect_forecasts(const Answer& a, const std::vector<SeriesInput>& inputs) {
  ASSERT_EQ(a.status, 200) << a.body.substr(0, 300);
  const json f = a.parsed()["forecasts"];
  ASSERT_EQ(f.size(), inputs.size());
  const std::vector<Forecast> library = loaded().wide.forecast(inputs);
  for (size_t k = 0; k < inputs.size(); ++k) {
    std::vector<float> values;
    for (const json& row : f[k]["values"])
      for (const json& x : row) values.push_back(static_cast<float>(x.get<double>()));
    EXPECT_EQ(values, library[k].values) << "series " << k;
  }
}

TEST(ServeBody, ABodyLargerThanTheBufferIsReadWholeAndTheConnectionServesOn) {
  TestServer s;
  std::vector<json> series;
  std::vector<SeriesInput> inputs;
  for (size_t k = 0; k < 40; ++k) {
    Window w = wide_window(24 + k % 3, k);
    series.push_back(w.series);
    inputs.push_back(w.input);
  }
  const std::string large = request("wide", series).dump();
  ASSERT_GT(large.size(), 100000u);  // the connection's buffer holds 64 KiB
  const Window small = wide_window(24);
  const std::string next = request("wide", {small.series}).dump();
  // keep-alive: the large one, then a small one on the same connection
  auto c = s.client();
  expect_forecasts(post(c, large), inputs);
  expect_forecasts(post(c, next), {small.input});
  // pipelined in one send: the large body, a small request right behind it, the large again
  RawConnection raw(s.port);
  ASSERT_TRUE(raw.send(RawConnection::forecast_head(large.size()) + large +
                       RawConnection::forecast_head(next.size()) + next +
                       RawConnection::forecast_head(large.size()) + large));
  expect_forecasts(raw.answer(), inputs);
  expect_forecasts(raw.answer(), {small.input});
  expect_forecasts(raw.answer(), inputs);
}

TEST(ServeBody, AChunkedBodyIsReadByHttplib) {
  TestServer s;
  auto c = s.client();
  const Window w = wide_window(30, 2);
  const std::string body = request("wide", {w.series}).dump();
  auto res = c.Post(
      "/v1/forecast",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < body.size())  // in pieces of 1000 bytes
          sink.write(body.data() + offset, std::min<size_t>(1000, body.size() - offset));
        else
          sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(res);
  expect_forecasts(Answer{res->status, res->body}, {w.input});
  expect_forecasts(post(c, body), {w.input});  // and the connection serves on
}

TEST(ServeBody, ExpectContinueIsAnsweredBeforeTheBodyIsRead) {
  TestServer s;
  const Window w = wide_window(24);
  const std::string body = request("wide", {w.series}).dump();
  RawConnection c(s.port);
  std::string head = RawConnection::forecast_head(body.size());
  head.insert(head.size() - 2, "Expect: 100-continue\r\n");
  ASSERT_TRUE(c.send(head));
  const Answer interim = c.answer_without_length();
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.send(body));
  expect_forecasts(c.answer(), {w.input});
}

}  // namespace
}  // namespace attend::testing::serve
