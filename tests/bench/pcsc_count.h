/*
 * pcsc_count: the counters libpcsc_count.so (pcsc_count.c) keeps for a
 * process it is preloaded into, one uint64 per winscard function in this
 * order, in the file HAWIYA_PCSC_COUNTS (PCSC_COUNT_FILE_SIZE bytes,
 * created by the reader of the counters before the process starts).
 */
#ifndef HAWIYA_BENCH_PCSC_COUNT_H
#define HAWIYA_BENCH_PCSC_COUNT_H

enum pcsc_count_fn {
    PCSC_COUNT_SCardEstablishContext,
    PCSC_COUNT_SCardReleaseContext,
    PCSC_COUNT_SCardIsValidContext,
    PCSC_COUNT_SCardConnect,
    PCSC_COUNT_SCardReconnect,
    PCSC_COUNT_SCardDisconnect,
    PCSC_COUNT_SCardBeginTransaction,
    PCSC_COUNT_SCardEndTransaction,
    PCSC_COUNT_SCardStatus,
    PCSC_COUNT_SCardGetStatusChange,
    PCSC_COUNT_SCardControl,
    PCSC_COUNT_SCardTransmit,
    PCSC_COUNT_SCardListReaderGroups,
    PCSC_COUNT_SCardListReaders,
    PCSC_COUNT_SCardFreeMemory,
    PCSC_COUNT_SCardCancel,
    PCSC_COUNT_SCardGetAttrib,
    PCSC_COUNT_SCardSetAttrib,
    PCSC_COUNT_FNS
};

#define PCSC_COUNT_FILE_SIZE (PCSC_COUNT_FNS * 8)

#endif
