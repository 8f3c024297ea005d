#include "shim/frontends/nbd_server.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "shim/frontends/nbd_connection.h"
#include "shim/frontends/nbd_protocol.h"

namespace uldd::shim {
namespace {

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.empty() || s.size() >= sizeof(addr.sun_path)) {
    return Error{ENAMETOOLONG, "nbd socket path '" + s + "'"};
  }
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return addr;
}

// A socket file left by a server that died is removed; one that still
// accepts connections belongs to a live server and is not ours to take.
Status clear_stale_socket(const std::filesystem::path& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("lstat(" + path.string() + ")");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error{EEXIST, path.string() + " exists and is not a socket"};
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return errno_error("socket(AF_UNIX)");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    return Error{EADDRINUSE, "another server is listening on " + path.string()};
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return errno_error("unlink(stale socket " + path.string() + ")");
  }
  spdlog::info("nbd: removed stale socket {}", path.string());
  return {};
}

}  // namespace

NbdServer::NbdServer(BlockClient& client, std::filesystem::path socket, NbdExport exp)
    : io_(client), socket_(std::move(socket)), export_(std::move(exp)) {}

Result<std::unique_ptr<NbdServer>> NbdServer::start(BlockClient& client,
                                                    std::filesystem::path socket,
                                                    std::string export_name,
                                                    UniqueFd adopted_listener) {
  NbdExport exp;
  exp.name = std::move(export_name);
  exp.size = client.size_bytes();
  exp.transmission_flags =
      nbd::kFlagHasFlags | nbd::kFlagSendFlush | nbd::kFlagSendTrim | nbd::kFlagCanMultiConn;
  exp.min_block = client.sector_size();
  exp.preferred_block = 4096;
  exp.max_block = nbd::kMaxPayload;

  auto addr = unix_address(socket);
  if (!addr) return addr.error();
  if (adopted_listener.valid()) {
    std::unique_ptr<NbdServer> server(new NbdServer(client, std::move(socket), std::move(exp)));
    server->listener_ = std::move(adopted_listener);
    struct stat st {};
    if (::stat(server->socket_.c_str(), &st) == 0) server->socket_inode_ = st.st_ino;
    auto wake = EventFd::create();
    if (!wake) return wake.error();
    server->wake_ = std::move(wake.value());
    server->acceptor_ = std::thread([s = server.get()] { s->accept_loop(); });
    spdlog::info("nbd: serving '{}' on {} again (listening socket kept across the restart)",
                 server->export_.name, server->socket_.string());
    return server;
  }
  std::error_code ec;
  if (socket.has_parent_path()) std::filesystem::create_directories(socket.parent_path(), ec);
  ULDD_TRY(clear_stale_socket(socket, *addr));

  std::unique_ptr<NbdServer> server(new NbdServer(client, std::move(socket), std::move(exp)));
  server->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!server->listener_.valid()) return errno_error("socket(AF_UNIX)");
  if (::bind(server->listener_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) !=
      0) {
    return errno_error("bind(" + server->socket_.string() + ")");
  }
  struct stat st {};
  if (::stat(server->socket_.c_str(), &st) == 0) server->socket_inode_ = st.st_ino;
  if (::listen(server->listener_.get(), SOMAXCONN) != 0) {
    const Error error = errno_error("listen(" + server->socket_.string() + ")");
    ::unlink(server->socket_.c_str());
    return error;
  }
  auto wake = EventFd::create();
  if (!wake) {
    ::unlink(server->socket_.c_str());
    return wake.error();
  }
  server->wake_ = std::move(wake.value());
  server->acceptor_ = std::thread([s = server.get()] { s->accept_loop(); });
  spdlog::info("nbd: serving '{}' ({} bytes) on {}", server->export_.name, server->export_.size,
               server->socket_.string());
  return server;
}

NbdServer::~NbdServer() {
  stop();
}

void NbdServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("nbd: poll(listener): {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      // Out of fds or memory: back off instead of spinning on poll().
      spdlog::warn("nbd: accept: {}", std::strerror(errno));
      pollfd wait_fd{wake_.fd(), POLLIN, 0};
      if (::poll(&wait_fd, 1, 100) > 0) return;
      continue;
    }
    reap_finished();
    auto conn = std::make_unique<NbdConnection>(io_, export_, std::move(fd));
    std::lock_guard lock(mutex_);
    if (stopped_) return;  // conn's destructor closes it
    conn->start();
    connections_.push_back(std::move(conn));
  }
}

void NbdServer::reap_finished() {
  std::vector<std::unique_ptr<NbdConnection>> done;
  {
    std::lock_guard lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->finished()) {
        done.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Destroyed (joined, fd closed) outside the lock.
}

void NbdServer::stop() {
  std::vector<std::unique_ptr<NbdConnection>> connections;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    connections.swap(connections_);
  }
  if (wake_.valid()) wake_.signal();
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();
  // Remove the socket only if it is still the one we bound.
  struct stat st {};
  if (::lstat(socket_.c_str(), &st) == 0 && st.st_ino == socket_inode_) ::unlink(socket_.c_str());
  for (auto& conn : connections) conn->close();
  for (auto& conn : connections) conn->join();
  connections.clear();
  spdlog::info("nbd: stopped serving '{}' on {}", export_.name, socket_.string());
}

}  // namespace uldd::shim
