// ffmpeg_encoder.cpp — the video plugin: RGBA frames in, an MP4 (H.264) or GIF file out, encoded with FFmpeg's
// libraries from the distribution. See video_encoder_api.hpp for the contract.
//
//   MP4  RGBA -> (pad to even size) -> libswscale -> yuv420p -> libx264 (crf) -> mp4 muxer
//   GIF  RGBA -> libavfilter "split, palettegen=stats_mode=single, paletteuse=new=1" -> pal8 -> gif encoder/muxer
//        (a palette per frame, so frames stream through instead of waiting for a palette of the whole video)
// The file is written as a temporary file beside the target (temporary_path_for) and renamed at finish(); on any failure, or when the
// encoder is dropped unfinished, the partial file is removed and the target keeps what it had.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "app/plugins/ffmpeg_video/video_encoder_api.hpp"
#include "core/atomic_file.hpp"

namespace attnscope::video {
namespace {

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

class FfmpegEncoder final : public Encoder {
 public:
  ~FfmpegEncoder() override {
    release();
    if (!finished_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  }

  bool open(const EncoderOptions& options) {
    opts_ = options;
    temp_path_ = temporary_path_for(options.path);
    const bool mp4 = options.container == Container::Mp4;
    width_ = mp4 ? options.width + (options.width & 1) : options.width;  // yuv420p needs even sizes
    height_ = mp4 ? options.height + (options.height & 1) : options.height;

    if (int r = avformat_alloc_output_context2(&format_, nullptr, mp4 ? "mp4" : "gif", temp_path_.c_str()); r < 0)
      return fail_av("set up the " + std::string(mp4 ? "MP4" : "GIF") + " container", r);
    const AVCodec* codec = mp4 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_GIF);
    if (!codec && mp4) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (!codec)
      return fail(std::string("this FFmpeg has no ") + (mp4 ? "H.264" : "GIF") +
                  " encoder; record the other format or PNG frames instead");
    encoder_ = avcodec_alloc_context3(codec);
    const AVRational rate = av_d2q(options.fps, 1000000);
    encoder_->width = width_;
    encoder_->height = height_;
    encoder_->time_base = av_inv_q(rate);
    encoder_->framerate = rate;
    encoder_->pix_fmt = mp4 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_PAL8;
    if (mp4) {
      encoder_->gop_size = std::max(1, static_cast<int>(options.fps * 2));
      av_opt_set(encoder_->priv_data, "preset", "medium", 0);
      av_opt_set(encoder_->priv_data, "crf", std::to_string(options.quality).c_str(), 0);
    }
    if (format_->oformat->flags & AVFMT_GLOBALHEADER) encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (int r = avcodec_open2(encoder_, codec, nullptr); r < 0) return fail_av("open the video encoder", r);
    stream_ = avformat_new_stream(format_, nullptr);
    if (!stream_) return fail("cannot add a video stream (out of memory?)");
    avcodec_parameters_from_context(stream_->codecpar, encoder_);
    stream_->time_base = encoder_->time_base;
    stream_->avg_frame_rate = rate;

    if (int r = avio_open(&format_->pb, temp_path_.c_str(), AVIO_FLAG_WRITE); r < 0) return fail_write(r);
    if (int r = avformat_write_header(format_, nullptr); r < 0) return fail_write(r);

    packet_ = av_packet_alloc();
    frame_ = av_frame_alloc();
    if (!packet_ || !frame_) return fail("out of memory");
    if (mp4) {
      frame_->format = encoder_->pix_fmt;
      frame_->width = width_;
      frame_->height = height_;
      if (int r = av_frame_get_buffer(frame_, 0); r < 0) return fail_av("allocate a frame", r);
      scaler_ = sws_getContext(width_, height_, AV_PIX_FMT_RGBA, width_, height_, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                               nullptr, nullptr, nullptr);
      if (!scaler_) return fail("cannot set up the colour conversion");
      padded_.resize(static_cast<size_t>(width_) * height_ * 4);
    } else if (!open_palette_graph(rate)) {
      return false;
    }
    return true;
  }

  bool add_frame(const uint8_t* rgba, int stride) override {
    if (!error_.empty() || finished_) return false;
    if (opts_.container == Container::Mp4) {
      // Copy into an even-sized image, repeating the last column and row where the size was odd.
      for (int y = 0; y < height_; ++y) {
        const uint8_t* src = rgba + static_cast<size_t>(std::min(y, opts_.height - 1)) * stride;
        uint8_t* dst = padded_.data() + static_cast<size_t>(y) * width_ * 4;
        std::memcpy(dst, src, static_cast<size_t>(opts_.width) * 4);
        if (width_ > opts_.width) std::memcpy(dst + opts_.width * 4, src + (opts_.width - 1) * 4, 4);
      }
      if (int r = av_frame_make_writable(frame_); r < 0) return fail_av("prepare a frame", r);
      const uint8_t* planes[1] = {padded_.data()};
      const int strides[1] = {width_ * 4};
      sws_scale(scaler_, planes, strides, 0, height_, frame_->data, frame_->linesize);
      frame_->pts = frames_++;
      return encode(frame_);
    }
    AVFrame* in = av_frame_alloc();
    if (!in) return fail("out of memory");
    in->format = AV_PIX_FMT_RGBA;
    in->width = opts_.width;
    in->height = opts_.height;
    int r = av_frame_get_buffer(in, 0);
    if (r >= 0) {
      for (int y = 0; y < opts_.height; ++y)
        std::memcpy(in->data[0] + static_cast<size_t>(y) * in->linesize[0], rgba + static_cast<size_t>(y) * stride,
                    static_cast<size_t>(opts_.width) * 4);
      in->pts = frames_++;
      r = av_buffersrc_add_frame_flags(source_, in, 0);
    }
    av_frame_free(&in);
    if (r < 0) return fail_av("pass a frame to the palette filter", r);
    return drain_palette_graph();
  }

  bool finish() override {
    if (finished_) return error_.empty();
    if (error_.empty() && opts_.container == Container::Gif) {
      if (int r = av_buffersrc_add_frame_flags(source_, nullptr, 0); r < 0) fail_av("end the palette filter", r);
      else drain_palette_graph();
    }
    if (error_.empty()) encode(nullptr);  // flush the encoder's delayed frames
    if (error_.empty()) {
      if (int r = av_write_trailer(format_); r < 0) fail_write(r);
    }
    if (format_ && format_->pb) {
      const int pending = format_->pb->error;
      if (pending < 0 && error_.empty()) fail_write(pending);
      bytes_ = avio_tell(format_->pb);
      if (int r = avio_closep(&format_->pb); r < 0 && error_.empty()) fail_write(r);
    }
    release();
    finished_ = true;
    if (error_.empty() && std::rename(temp_path_.c_str(), opts_.path.c_str()) != 0)
      error_ = "cannot replace '" + opts_.path + "': " + describe_write_error(errno, opts_.path);
    if (!error_.empty()) {
      ::unlink(temp_path_.c_str());
      return false;
    }
    return true;
  }

  const std::string& error() const override { return error_; }
  int64_t frames() const override { return frames_; }
  int64_t bytes_written() const override {
    if (format_ && format_->pb) return avio_tell(format_->pb);
    return bytes_;
  }

 private:
  bool open_palette_graph(AVRational rate) {
    graph_ = avfilter_graph_alloc();
    if (!graph_) return fail("out of memory");
    char args[256];
    std::snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1", opts_.width,
                  opts_.height, static_cast<int>(AV_PIX_FMT_RGBA), rate.den, rate.num);
    int r = avfilter_graph_create_filter(&source_, avfilter_get_by_name("buffer"), "in", args, nullptr, graph_);
    if (r >= 0) r = avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out", nullptr, nullptr, graph_);
    if (r < 0) return fail_av("set up the palette filter", r);
    AVFilterInOut* outputs = avfilter_inout_alloc();
    AVFilterInOut* inputs = avfilter_inout_alloc();
    outputs->name = av_strdup("in");
    outputs->filter_ctx = source_;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = sink_;
    r = avfilter_graph_parse_ptr(graph_,
                                 "split[a][b];[a]palettegen=stats_mode=single:max_colors=256[p];"
                                 "[b][p]paletteuse=new=1:dither=sierra2_4a",
                                 &inputs, &outputs, nullptr);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (r >= 0) r = avfilter_graph_config(graph_, nullptr);
    if (r < 0) return fail_av("set up the palette filter (libavfilter's palettegen and paletteuse)", r);
    return true;
  }

  bool drain_palette_graph() {
    AVFrame* out = av_frame_alloc();
    if (!out) return fail("out of memory");
    for (;;) {
      const int r = av_buffersink_get_frame(sink_, out);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
      if (r < 0) {
        av_frame_free(&out);
        return fail_av("make a palette", r);
      }
      const bool ok = encode(out);
      av_frame_unref(out);
      if (!ok) break;
    }
    av_frame_free(&out);
    return error_.empty();
  }

  bool encode(AVFrame* frame) {
    int r = avcodec_send_frame(encoder_, frame);
    if (r < 0 && r != AVERROR_EOF) return fail_av("encode a frame", r);
    for (;;) {
      r = avcodec_receive_packet(encoder_, packet_);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return true;
      if (r < 0) return fail_av("encode a frame", r);
      av_packet_rescale_ts(packet_, encoder_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      r = av_interleaved_write_frame(format_, packet_);
      av_packet_unref(packet_);
      if (r < 0) return fail_write(r);
    }
  }

  bool fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }
  bool fail_av(const std::string& what, int code) { return fail("cannot " + what + ": " + av_error_text(code)); }
  // Errors from writing the file: errno-based ones in the user's words (disk full, size limit, permissions).
  bool fail_write(int code) {
    const int err = code < 0 && code > -4096 ? -code : 0;  // AVERROR(e) is -e for POSIX errors
    return fail("cannot write '" + opts_.path + "': " + (err ? describe_write_error(err, opts_.path) : av_error_text(code)) +
                "; nothing was written");
  }

  void release() {
    if (format_ && format_->pb) avio_closep(&format_->pb);
    if (format_) avformat_free_context(format_);
    format_ = nullptr;
    avcodec_free_context(&encoder_);
    av_frame_free(&frame_);
    av_packet_free(&packet_);
    sws_freeContext(scaler_);
    scaler_ = nullptr;
    avfilter_graph_free(&graph_);
  }

  EncoderOptions opts_;
  std::string temp_path_, error_;
  int width_ = 0, height_ = 0;
  int64_t frames_ = 0, bytes_ = 0;
  bool finished_ = false;
  AVFormatContext* format_ = nullptr;
  AVCodecContext* encoder_ = nullptr;
  AVStream* stream_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* packet_ = nullptr;
  SwsContext* scaler_ = nullptr;
  std::vector<uint8_t> padded_;
  AVFilterGraph* graph_ = nullptr;
  AVFilterContext* source_ = nullptr;
  AVFilterContext* sink_ = nullptr;
};

}  // namespace
}  // namespace attnscope::video

extern "C" __attribute__((visibility("default"))) attnscope::video::Encoder* attnscope_video_open_encoder(
    const attnscope::video::EncoderOptions& options, std::string& error) {
  using namespace attnscope::video;
  if (options.path.empty()) {
    error = "no output path given for the video";
    return nullptr;
  }
  if (options.width < 2 || options.height < 2 || options.width > 7680 || options.height > 4320) {
    error = "video size " + std::to_string(options.width) + "×" + std::to_string(options.height) +
            ": must be 2×2 to 7680×4320 pixels";
    return nullptr;
  }
  if (!(options.fps >= 1 && options.fps <= 120)) {
    error = "frame rate " + std::to_string(options.fps) + ": must be 1 to 120 frames per second";
    return nullptr;
  }
  if (options.quality < 0 || options.quality > 51) {
    error = "quality " + std::to_string(options.quality) + ": must be 0 (lossless) to 51";
    return nullptr;
  }
  av_log_set_level(AV_LOG_ERROR);
  auto encoder = std::make_unique<FfmpegEncoder>();
  if (!encoder->open(options)) {
    error = encoder->error();
    return nullptr;
  }
  return encoder.release();
}
