#include "mock_board.h"

#include <string.h>

struct mock_board mock_board;

void mock_board_reset(uint64_t seed)
{
    memset(&mock_board, 0, sizeof mock_board);
    mock_board.rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* ---- board ---------------------------------------------------------------- */

void hal_idle(uint32_t max_ms)
{
    mock_board.now_ns += (uint64_t)max_ms * 1000000u;
}

uint32_t hal_sc_insertions(void)
{
    return mock_board.insertions;
}

const char *hal_board_name(void)
{
    return "mock";
}

/* ---- timer ---------------------------------------------------------------- */

uint64_t hal_now_ns(void)
{
    return mock_board.now_ns;
}

uint64_t hal_cpu_instructions(void)
{
    return 0;
}

uint64_t hal_cpu_ns(void)
{
    /* Some CPU time per look, so costs are non-zero and reproducible. */
    mock_board.cpu_ns += 1000;
    return mock_board.cpu_ns;
}

void hal_delay_ns(uint64_t ns)
{
    mock_board.now_ns += ns;
}

/* ---- rng ------------------------------------------------------------------ */

bool hal_rng(uint8_t *buf, size_t n)
{
    if (mock_board.rng_fail)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = mock_board.rng_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mock_board.rng_state = x;
        buf[i] = (uint8_t)(x >> 24);
    }
    return true;
}

/* ---- flash ---------------------------------------------------------------- */

bool hal_flash_read(enum flash_record r, uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    if ((unsigned)r >= MOCK_FLASH_RECORDS || !mock_board.flash_has[r] ||
        mock_board.flash_len[r] > cap)
        return false;
    memcpy(buf, mock_board.flash[r], mock_board.flash_len[r]);
    *n = mock_board.flash_len[r];
    return true;
}

bool hal_flash_write(enum flash_record r, const uint8_t *buf, size_t n)
{
    if (mock_board.flash_fail || (unsigned)r >= MOCK_FLASH_RECORDS || n > MOCK_FLASH_MAX)
        return false;
    memcpy(mock_board.flash[r], buf, n);
    mock_board.flash_len[r] = n;
    mock_board.flash_has[r] = true;
    mock_board.flash_writes++;
    return true;
}

/* ---- host link ------------------------------------------------------------ */

bool hal_host_connected(void)
{
    return mock_board.host_connected;
}

enum host_rx hal_host_recv(uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    size_t left = mock_board.host_in_len - mock_board.host_in_pos;
    if (left == 0)
        return mock_board.host_closed ? HOST_RX_CLOSED : HOST_RX_IDLE;
    size_t k = left < cap ? left : cap;
    if (mock_board.host_chunk && k > mock_board.host_chunk)
        k = mock_board.host_chunk;
    if (k == 0)
        return HOST_RX_IDLE; /* the firmware's buffer is full */
    memcpy(buf, mock_board.host_in + mock_board.host_in_pos, k);
    mock_board.host_in_pos += k;
    *n = k;
    return HOST_RX_OK;
}

void hal_host_send(const uint8_t *msg, size_t n)
{
    mock_board.sent++;
    if (mock_board.on_send)
        mock_board.on_send(mock_board.on_send_ctx, false, msg, n);
}

void hal_host_notify(const uint8_t *msg, size_t n)
{
    mock_board.notified++;
    if (mock_board.on_send)
        mock_board.on_send(mock_board.on_send_ctx, true, msg, n);
}

/* ---- card contacts: an empty slot, or a mute card --------------------------- */

unsigned hal_sc_classes(void)
{
    return (1u << SC_CLASS_A) | (1u << SC_CLASS_B) | (1u << SC_CLASS_C);
}

void hal_sc_vcc(enum sc_class c)
{
    mock_board.vcc = c;
}

uint32_t hal_sc_clk(uint32_t hz)
{
    mock_board.clk_hz = hz;
    return hz;
}

uint32_t hal_sc_clk_max(void)
{
    return 20000000;
}

void hal_sc_rst(bool high)
{
    mock_board.rst_high = high;
}

void hal_sc_configure(const struct sc_line_config *cfg)
{
    (void)cfg;
}

void hal_sc_send(const uint8_t *chars, size_t n)
{
    (void)chars;
    mock_board.chars_sent += n;
}

enum sc_rx hal_sc_recv(uint8_t *c, uint64_t deadline_ns)
{
    *c = 0;
    if (!mock_board.card_present || mock_board.vcc == SC_CLASS_OFF)
        return SC_RX_REMOVED;
    if (deadline_ns > mock_board.now_ns)
        mock_board.now_ns = deadline_ns;
    return SC_RX_TIMEOUT;
}

void hal_sc_flush(void)
{
}

bool hal_sc_present(void)
{
    return mock_board.card_present;
}
