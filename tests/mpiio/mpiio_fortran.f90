! mpiio_fortran: Fortran MPI-IO on pdm through the LD_PRELOAD shim. Open MPI's
! Fortran bindings call PMPI_* directly, so this passes only because the
! preload library makes PMPI_Init, PMPI_File_* ... aliases of its wrappers.
! Every rank writes its block collectively, then reads its neighbour's block
! through an individual file pointer; a pass-through file on the plain
! directory (argument 1) checks that other names still reach the real MPI-IO.
program mpiio_fortran
  use mpi
  implicit none
  integer, parameter :: n = 100
  integer :: ierr, rank, nranks, fh, i, other, count
  integer :: status(MPI_STATUS_SIZE)
  integer(kind=MPI_OFFSET_KIND) :: offset, fsize
  integer :: out(n), got(n)
  character(len=4096) :: plain

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  call get_command_argument(1, plain)

  do i = 1, n
    out(i) = rank * 1000 + i
  end do
  call MPI_File_open(MPI_COMM_WORLD, '/pdm/fortran.dat', MPI_MODE_CREATE + MPI_MODE_RDWR, &
                     MPI_INFO_NULL, fh, ierr)
  call check(ierr == MPI_SUCCESS, 'open')
  offset = int(rank, MPI_OFFSET_KIND) * n * 4
  call MPI_File_write_at_all(fh, offset, out, n, MPI_INTEGER, status, ierr)
  call check(ierr == MPI_SUCCESS, 'write_at_all')
  call MPI_File_get_size(fh, fsize, ierr)
  call check(fsize == int(nranks, MPI_OFFSET_KIND) * n * 4, 'get_size')
  other = mod(rank + 1, nranks)
  offset = int(other, MPI_OFFSET_KIND) * n * 4
  call MPI_File_seek(fh, offset, MPI_SEEK_SET, ierr)
  call MPI_File_read(fh, got, n, MPI_INTEGER, status, ierr)
  call check(ierr == MPI_SUCCESS, 'read')
  call MPI_Get_count(status, MPI_INTEGER, count, ierr)
  call check(count == n, 'count')
  do i = 1, n
    call check(got(i) == other * 1000 + i, 'data')
  end do
  call MPI_File_close(fh, ierr)
  call check(ierr == MPI_SUCCESS, 'close')

  call MPI_File_open(MPI_COMM_WORLD, trim(plain) // '/fortran.dat', &
                     MPI_MODE_CREATE + MPI_MODE_WRONLY, MPI_INFO_NULL, fh, ierr)
  call check(ierr == MPI_SUCCESS, 'open plain')
  offset = int(rank, MPI_OFFSET_KIND) * n * 4
  call MPI_File_write_at_all(fh, offset, out, n, MPI_INTEGER, status, ierr)
  call MPI_File_close(fh, ierr)
  call MPI_File_open(MPI_COMM_WORLD, '/pdm/missing.dat', MPI_MODE_RDONLY, MPI_INFO_NULL, fh, ierr)
  call MPI_Error_class(ierr, i, count)
  call check(i == MPI_ERR_NO_SUCH_FILE, 'missing file class')

  call MPI_Finalize(ierr)
  ! List-directed: a format string makes libgfortran call strndup on a
  ! constant with no NUL, which AddressSanitizer's strict_string_checks flags.
  if (rank == 0) print *, 'mpiio_fortran: ok'
contains
  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    integer :: e
    if (.not. ok) then
      print *, 'rank', rank, ': check failed: ', what
      call MPI_Abort(MPI_COMM_WORLD, 1, e)
    end if
  end subroutine check
end program mpiio_fortran
