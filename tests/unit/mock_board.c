#include "mock_board.h"

#include <string.h>

struct mock_board mock_board;

void mock_board_reset(uint64_t seed)
{
    memset(&mock_board, 0, sizeof mock_board);
    mock_board.rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
    memset(mock_board.flash, 0xFF, sizeof mock_board.flash);
    memset(mock_board.otp, 0xFF, sizeof mock_board.otp);
    mock_board.sector_size = MOCK_FLASH_SECTOR;
    mock_board.sectors = 2;
    mock_board.prog_unit = 8;
    mock_board.otp_size = MOCK_OTP_BYTES;
    mock_board.flash_budget = -1;
}

void mock_board_power_cycle(void)
{
    mock_board.powered_off = false;
    mock_board.flash_budget = -1;
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

bool hal_memory(struct hal_memory *m)
{
    (void)m;
    return false;
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

static bool in_area(uint32_t sector, uint32_t offset, size_t n)
{
    return sector < mock_board.sectors && offset <= mock_board.sector_size &&
           n <= mock_board.sector_size - offset &&
           (size_t)mock_board.sectors * mock_board.sector_size <= MOCK_FLASH_BYTES;
}

static uint8_t *at(uint32_t sector, uint32_t offset)
{
    return mock_board.flash + (size_t)sector * mock_board.sector_size + offset;
}

/* Spends the power budget on n bytes; false (and power off) after `*done` of them. */
static bool spend(size_t n, size_t *done)
{
    *done = n;
    if (mock_board.flash_budget < 0)
        return true;
    if ((size_t)mock_board.flash_budget >= n) {
        mock_board.flash_budget -= (long)n;
        return true;
    }
    *done = (size_t)mock_board.flash_budget;
    mock_board.flash_budget = 0;
    mock_board.powered_off = true;
    return false;
}

bool hal_flash_info(struct hal_flash_info *info)
{
    if (mock_board.flash_missing || mock_board.powered_off)
        return false;
    *info = (struct hal_flash_info){.sector_size = mock_board.sector_size,
                                    .sectors = mock_board.sectors,
                                    .prog_unit = mock_board.prog_unit,
                                    .otp_size = mock_board.otp_size};
    return true;
}

bool hal_flash_read(uint32_t sector, uint32_t offset, uint8_t *buf, size_t n)
{
    if (mock_board.flash_missing || mock_board.powered_off || !in_area(sector, offset, n))
        return false;
    memcpy(buf, at(sector, offset), n);
    return true;
}

bool hal_flash_program(uint32_t sector, uint32_t offset, const uint8_t *buf, size_t n)
{
    if (mock_board.flash_missing || mock_board.powered_off || mock_board.flash_fail ||
        !in_area(sector, offset, n) || offset % mock_board.prog_unit || n % mock_board.prog_unit)
        return false;
    uint8_t *p = at(sector, offset);
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false; /* a unit is programmed once between erases */
    mock_board.flash_programs++;
    size_t done;
    bool whole = spend(n, &done);
    for (size_t i = 0; i < done; i++)
        p[i] &= buf[i];
    if (!whole)
        p[done] &= (uint8_t)(buf[done] | (uint8_t)~mock_board.flash_torn_mask);
    return whole;
}

bool hal_flash_erase(uint32_t sector)
{
    if (mock_board.flash_missing || mock_board.powered_off || mock_board.flash_fail ||
        !in_area(sector, 0, mock_board.sector_size))
        return false;
    mock_board.flash_erases++;
    if (sector < 16)
        mock_board.erases_per_sector[sector]++;
    size_t done;
    bool whole = spend(mock_board.sector_size, &done);
    memset(at(sector, 0), 0xFF, done);
    return whole;
}

bool hal_otp_read(uint32_t offset, uint8_t *buf, size_t n)
{
    if (mock_board.powered_off || offset > mock_board.otp_size || n > mock_board.otp_size - offset)
        return false;
    memcpy(buf, mock_board.otp + offset, n);
    return true;
}

bool hal_otp_program(uint32_t offset, const uint8_t *buf, size_t n)
{
    if (mock_board.powered_off || mock_board.flash_fail || offset > mock_board.otp_size ||
        n > mock_board.otp_size - offset)
        return false;
    size_t done;
    bool whole = spend(n, &done);
    for (size_t i = 0; i < done; i++)
        mock_board.otp[offset + i] &= buf[i];
    if (!whole)
        mock_board.otp[offset + done] &=
            (uint8_t)(buf[done] | (uint8_t)~mock_board.flash_torn_mask);
    return whole;
}

/* ---- host link ------------------------------------------------------------ */

bool hal_host_connected(void)
{
    return mock_board.host_connected;
}

uint32_t hal_host_attachments(void)
{
    return mock_board.host_attachments;
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

/* ---- contactless front end: this board has none -------------------------- */

void hal_rf_caps(struct rf_caps *c)
{
    *c = (struct rf_caps){0};
}

void hal_rf_field(bool on)
{
    (void)on;
}

void hal_rf_configure(enum rf_tech tech, unsigned tx_rate, unsigned rx_rate)
{
    (void)tech;
    (void)tx_rate;
    (void)rx_rate;
}

void hal_rf_transceive(const struct rf_xfer *x, struct rf_result *r)
{
    mock_board.now_ns += x->timeout_ns;
    *r = (struct rf_result){.status = RF_RX_TIMEOUT};
}
